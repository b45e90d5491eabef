// Validate a .glb/.gltf with the Khronos glTF validator; print its report as JSON on stdout.
// Usage: node packaging/validate_gltf.js FILE   (the validator from .tools/node_modules, see bootstrap.sh)
const fs = require("fs");
const path = require("path");
const validator = require(path.join(__dirname, "..", ".tools", "node_modules", "gltf-validator"));

const file = process.argv[2];
validator
  .validateBytes(new Uint8Array(fs.readFileSync(file)), { uri: path.basename(file), maxIssues: 100 })
  .then((report) => process.stdout.write(JSON.stringify(report)))
  .catch((error) => {
    process.stderr.write(String(error) + "\n");
    process.exit(1);
  });
