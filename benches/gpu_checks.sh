#!/usr/bin/env bash
# The GPU checks of the open issues, as one prepared run for a lent CUDA machine (see DEVELOPERS'
# guide: the device tool). Each step prints one JSON line (or pytest's summary) into $OUT/gpu.log:
#   1. the tests marked gpu (gsplat against our CPU rasterizer, the CUDA paths, a CUDA job given the GPU
#      of a one-GPU Ray cluster started on the machine: issue 18);
#   2. one SDS step on full-size SD 2.1 networks (random weights): time and peak memory (issue 13);
#   3. text-to-3D stage 1, 500 steps at DreamGaussian's settings on the same networks (issue 14:
#      <= 25 s on an H100, peak <= 8 GB), then stage 2;
#   4. outpaint-scene on full-size SD-2 inpainting and Depth-Anything-V2-Small: 10 views, 3,000 steps
#      (issue 15: <= 4 minutes on an H100, peak <= 10 GB);
#   5. animate-4d from a picture on full-size Stable Video Diffusion and zero123 (random weights): the
#      driving video, the static object and the motion at DreamGaussian4D's settings, time of each
#      stage and peak memory (issue 16: image-to-4D end to end <= 3 minutes on an H100).
# Each step stops after STEP_TIMEOUT seconds (420); a lent machine's 10-minute call fits steps 1-3 in
# one run and step 4 in a second one, step 5 in a third (or run the lines one by one).
#
#   bash benches/gpu_checks.sh        # from the repository root, with torch (CUDA) and gsplat installed
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-/tmp/gpu_checks}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"
run() { echo "### $*" | tee -a "$OUT/gpu.log"; timeout "${STEP_TIMEOUT:-420}" "$@" 2>&1 | tee -a "$OUT/gpu.log"; }
"$PY" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" 2>&1 | tee -a "$OUT/gpu.log"
run "$PY" -m pytest -q -p no:cacheprovider -m gpu tests
run "$PY" benches/sds_gpu.py --repeats 10
run "$PY" benches/text_to_3d_gpu.py --steps 500 --size 512
run "$PY" benches/outpaint_gpu.py --views 10 --steps 3000 --size 512
run "$PY" benches/animate_4d_gpu.py --frames 14 --steps 500 --static-steps 500
