#version 330 core
// The interactive path: one point sprite per splat covering its quad's bounding square. One
// vertex per splat instead of an instance of four is ~3x cheaper in llvmpipe's vertex stage;
// sprites are capped at the implementation's point size (255 px on llvmpipe), fine at the
// reduced resolution this is drawn at while the camera moves.

uniform vec2 u_target;     // render-target size in px
uniform float u_max_size;  // largest point size the implementation draws

in vec4 a_center;  // as in splat_draw.vert
in vec4 a_axes;
in vec4 a_color;

flat out vec2 v_center;   // window px
flat out mat2 v_to_uv;    // window px offset -> standard deviations
flat out vec4 v_color;

void main() {
    if (a_center.w <= 0.0) {
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
        gl_PointSize = 1.0;
        return;
    }
    vec2 half_box = abs(a_axes.xy) + abs(a_axes.zw);
    gl_PointSize = min(2.0 * max(half_box.x, half_box.y) + 1.0, u_max_size);
    v_center = a_center.xy;
    v_to_uv = a_center.w * inverse(mat2(a_axes.xy, a_axes.zw));
    v_color = a_color;
    gl_Position = vec4(a_center.xy / u_target * 2.0 - 1.0, a_center.z, 1.0);
}
