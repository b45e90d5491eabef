// Gaussian falloff of a splat fragment: uv is the offset from the centre in standard deviations
// along the ellipse axes, so the Mahalanobis distance is just |uv|. Returns premultiplied alpha.
vec4 splat_fragment(vec2 uv, vec4 color) {
    float power = 0.5 * dot(uv, uv);
    if (power > 4.5) discard;  // beyond 3 sigma
    float alpha = min(0.99, color.a * exp(-power));
    if (alpha < 1.0 / 255.0) discard;
    return vec4(color.rgb * alpha, alpha);
}
