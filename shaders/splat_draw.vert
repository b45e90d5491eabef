#version 330 core
// One instanced quad per splat. The per-instance attributes are splat_preprocess.frag's results,
// already in back-to-front order.

uniform vec2 u_target;        // render-target size in px
uniform float u_point_px;     // > 0: point mode, a square of this half-size at each centre

in vec4 a_center;  // centre (GL window px), ndc z, extent in sigmas (0 = hidden)
in vec4 a_axes;    // the two half-axes in px
in vec4 a_color;   // rgb, opacity

out vec2 v_uv;
out vec4 v_color;

void main() {
    if (a_center.w <= 0.0) {
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);  // culled: outside the clip volume
        return;
    }
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 2.0 - 1.0;
    vec2 px;
    if (u_point_px > 0.0) {
        px = a_center.xy + corner * u_point_px;
        v_uv = vec2(0.0);
    } else {
        px = a_center.xy + corner.x * a_axes.xy + corner.y * a_axes.zw;
        v_uv = corner * a_center.w;
    }
    v_color = a_color;
    gl_Position = vec4(px / u_target * 2.0 - 1.0, a_center.z, 1.0);
}
