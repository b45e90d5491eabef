// Gaussian falloff of a splat fragment: uv is the offset from the centre in standard deviations
// along the ellipse axes, so the Mahalanobis distance is just |uv|. Returns premultiplied alpha.
// The rules and constants are scene/formation.py's, as the training rasterizer's.
#include "formation.glsl"

vec4 splat_fragment(vec2 uv, vec4 color) {
    float power = 0.5 * dot(uv, uv);
    if (power > 0.5 * EXTEND * EXTEND) discard;  // beyond the farthest reach
    float alpha = min(ALPHA_MAX, color.a * exp(-power));
    if (alpha < ALPHA_MIN) discard;
    return vec4(color.rgb * alpha, alpha);
}
