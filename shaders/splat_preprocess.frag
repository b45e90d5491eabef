#version 330 core
// Per-splat work done once per view, one fragment per Gaussian: EWA projection, quad axes and
// SH colour. Fragment j handles splat u_order[j], so the results come out in drawing order and
// the draw pass reads them as plain per-instance attributes. Compiled with CLIP defined, it draws
// a clip at a time: each splat's motion and group move are evaluated first (clip_pose.glsl).

#include "projection.glsl"
#include "sh.glsl"
#ifdef CLIP
#include "clip_pose.glsl"
#endif

uniform sampler2D u_geom[3];  // one texel per splat each: (mean, opacity logit), quat wxyz, (log scale, clip group)
uniform sampler2D u_sh[6];    // two half-float texels per splat each: of the K*3 SH floats in order
uniform usampler2D u_order;   // the back-to-front order: splat index per output slot
uniform sampler2D u_selected;  // one texel per splat: 1 = selected
uniform int u_count;
uniform int u_sh_texels;
uniform int u_degree;
uniform mat4 u_model;       // layer -> world
uniform mat3 u_sh_rot;      // world direction -> layer direction (rotation part only)
uniform vec3 u_campos;
uniform vec2 u_proj_z;      // rows 2 of the GL projection: ndc z = (a * z_gl + b) / -z_gl
uniform float u_scale_mult;
uniform float u_opacity_mult;
uniform vec3 u_selection_tint;  // selected splats lean towards this colour

layout(location = 0) out vec4 o_center;  // centre (GL window px, y up), ndc z, extent (0 = hidden)
layout(location = 1) out vec4 o_axes;    // the two half-axes in GL window px
layout(location = 2) out vec4 o_color;   // rgb, opacity

const int TEX_W = 1024;
const float SELECTED_TINT = 0.8;          // how far a selected splat's colour moves to the tint
const float SELECTED_MIN_OPACITY = 0.5;   // faint selected splats (floaters) show too, at this layer opacity

vec4 sh_texel(sampler2D plane, ivec2 cell, int t) {  // texel t of a splat's SH; plane is u_sh[t / 2]
    return t < u_sh_texels ? texelFetch(plane, ivec2(cell.x * 2 + t % 2, cell.y), 0) : vec4(0.0);
}

mat3 quat_to_mat(vec4 q) {  // q = (w, x, y, z), unit
    float w = q.x, x = q.y, y = q.z, z = q.w;
    return mat3(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y),
                2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x),
                2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y));
}

void main() {
    ivec2 slot = ivec2(gl_FragCoord.xy);
    int index = slot.y * TEX_W + slot.x;
    o_center = vec4(0.0);
    o_axes = vec4(0.0);
    o_color = vec4(0.0);
    if (index >= u_count) return;
    int splat = int(texelFetch(u_order, slot, 0).r);
    ivec2 cell = ivec2(splat % TEX_W, splat / TEX_W);

    vec4 g0 = texelFetch(u_geom[0], cell, 0);
    vec4 q = texelFetch(u_geom[1], cell, 0);
    vec4 g2 = texelFetch(u_geom[2], cell, 0);
    mat4 model = u_model;
    mat3 sh_rot = u_sh_rot;
#ifdef CLIP
    clip_pose(cell, g0, q, g2, model, sh_rot);
#endif
    q = normalize(q);
    vec3 scale = exp(g2.xyz) * u_scale_mult;
    float opacity = u_opacity_mult / (1.0 + exp(-g0.w));
    bool selected = texelFetch(u_selected, cell, 0).r > 0.5;
    if (selected) opacity = max(opacity, SELECTED_MIN_OPACITY * u_opacity_mult);

    mat3 m = mat3(model) * quat_to_mat(q);
    m = mat3(m[0] * scale.x, m[1] * scale.y, m[2] * scale.z);
    vec3 mean = (model * vec4(g0.xyz, 1.0)).xyz;

    vec2 center;
    float depth;
    vec3 cov2d;
    if (!ewa_project(mean, m * transpose(m), center, depth, cov2d)) return;
    vec2 axis1, axis2;
    float extent = splat_quad(cov2d, opacity, axis1, axis2);
    if (extent <= 0.0) return;

    // Constant indices let the compiler keep these arrays in registers (dynamic indexing spills
    // them to memory on llvmpipe); GLSL 3.30 indexes sampler arrays by constants only anyway.
    // Texels past this degree read as 0.
    vec4 v[12] = vec4[12](
        sh_texel(u_sh[0], cell, 0), sh_texel(u_sh[0], cell, 1), sh_texel(u_sh[1], cell, 2),
        sh_texel(u_sh[1], cell, 3), sh_texel(u_sh[2], cell, 4), sh_texel(u_sh[2], cell, 5),
        sh_texel(u_sh[3], cell, 6), sh_texel(u_sh[3], cell, 7), sh_texel(u_sh[4], cell, 8),
        sh_texel(u_sh[4], cell, 9), sh_texel(u_sh[5], cell, 10), sh_texel(u_sh[5], cell, 11));
    vec3 coeffs[16];
    for (int j = 0; j < 4; ++j) {  // 3 texels hold 4 RGB coefficients
        coeffs[4 * j] = v[3 * j].xyz;
        coeffs[4 * j + 1] = vec3(v[3 * j].w, v[3 * j + 1].xy);
        coeffs[4 * j + 2] = vec3(v[3 * j + 1].zw, v[3 * j + 2].x);
        coeffs[4 * j + 3] = v[3 * j + 2].yzw;
    }
    vec3 dir = sh_rot * normalize(mean - u_campos);
    vec3 rgb = eval_sh(coeffs, u_degree, dir);
    if (selected) rgb = mix(rgb, u_selection_tint, SELECTED_TINT);

    float ndc_z = (u_proj_z.x * -depth + u_proj_z.y) / depth;
    vec2 flip = vec2(1.0, -1.0);  // OpenCV pixels (y down) -> GL window pixels (y up)
    o_center = vec4(center.x, u_viewport.y - center.y, ndc_z, extent);
    o_axes = vec4(axis1 * flip, axis2 * flip);
    o_color = vec4(rgb, opacity);
}
