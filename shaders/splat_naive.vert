#version 330 core
// Benchmark baseline only: the simplest instanced splat draw (per-instance attributes, projection
// per vertex, flat colour, no SH, no sorting), as a plain web viewer would do it.

#include "projection.glsl"

in vec3 a_mean;
in vec3 a_cov_a;    // xx, xy, xz
in vec3 a_cov_b;    // yy, yz, zz
in vec4 a_color;    // rgb, opacity

out vec2 v_uv;
out vec4 v_color;

void main() {
    mat3 cov = mat3(a_cov_a.x, a_cov_a.y, a_cov_a.z,
                    a_cov_a.y, a_cov_b.x, a_cov_b.y,
                    a_cov_a.z, a_cov_b.y, a_cov_b.z);
    vec2 center;
    float depth;
    vec3 cov2d;
    vec2 axis1, axis2;
    float extent = 0.0;
    if (ewa_project(a_mean, cov, center, depth, cov2d)) extent = splat_quad(cov2d, a_color.a, axis1, axis2);
    if (extent <= 0.0) {
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
        return;
    }
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 2.0 - 1.0;
    vec2 px = center + corner.x * axis1 + corner.y * axis2;
    px.y = u_viewport.y - px.y;
    v_uv = corner * extent;
    v_color = a_color;
    gl_Position = vec4(px / u_viewport * 2.0 - 1.0, 0.0, 1.0);
}
