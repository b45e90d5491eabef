// A clip's splat at the drawn time (see render/clip_drawer.py and scene/clip.py, whose
// GaussianClip.at is the CPU reference): the sampled motion is uploaded once, several frames of a
// channel stacked in each layer of a texture array; this pass blends the frames the time falls
// between. Positions take two taps (linear) or four (smooth: Catmull-Rom), the other channels lerp
// frames k0 and k1 (quaternions by nlerp, the short way round). A splat of a keyframed group then
// moves by its group's matrix.
//
// Defines choose what a variant does, so that it holds no code it does not need (a software GL
// runs both sides of a branch): CLIP_MEANS, CLIP_QUATS, CLIP_SCALES, CLIP_OPACITY for the channels
// the clip stores (the others stay the canonical's); CLIP_BETWEEN when the time is between frames
// (else only k0 is read); CLIP_SMOOTH for four position taps; CLIP_GROUPS when a group has keys.
// Where each tap's frame lies is worked out on the CPU (integer division per splat is slow there).

uniform sampler2DArray u_motion_pos;    // per frame: (mean, opacity logit)
uniform sampler2DArray u_motion_quat;   // per frame: quaternion wxyz
uniform sampler2DArray u_motion_scale;  // per frame: log-scale
uniform sampler2D u_groups;    // row g: keyed group g's matrix (texels 0-3, columns) and SH rotation (4-6, columns)
uniform ivec4 u_tap_rows;      // first texture row of each tap's frame in its layer: before k0, k0, k1, after k1
uniform ivec4 u_tap_layers;    // array layer of each tap's frame
uniform vec4 u_tap_w;          // position weights of the taps
uniform float u_frame_w;       // weight of k1 (quats, log-scales, opacity)

ivec3 tap_texel(ivec2 cell, int tap) {
    return ivec3(cell.x, cell.y + u_tap_rows[tap], u_tap_layers[tap]);
}

// Replaces the canonical (mean, opacity logit) g0, quaternion q and (log-scale, group) g2 by the
// splat's at the drawn time, and moves model (layer -> world) and sh_rot (world direction ->
// splat direction) by its group's matrix.
void clip_pose(ivec2 cell, inout vec4 g0, inout vec4 q, inout vec4 g2, inout mat4 model, inout mat3 sh_rot) {
    float w = u_frame_w;
#if defined(CLIP_MEANS) || defined(CLIP_OPACITY)
    vec4 p = texelFetch(u_motion_pos, tap_texel(cell, 1), 0);
#ifdef CLIP_BETWEEN
    vec4 p1 = texelFetch(u_motion_pos, tap_texel(cell, 2), 0);
    vec3 mean = u_tap_w.y * p.xyz + u_tap_w.z * p1.xyz;
#ifdef CLIP_SMOOTH
    mean += u_tap_w.x * texelFetch(u_motion_pos, tap_texel(cell, 0), 0).xyz;
    mean += u_tap_w.w * texelFetch(u_motion_pos, tap_texel(cell, 3), 0).xyz;
#endif
    p = vec4(mean, (1.0 - w) * p.w + w * p1.w);
#endif
#ifdef CLIP_MEANS
    g0.xyz = p.xyz;
#endif
#ifdef CLIP_OPACITY
    g0.w = p.w;
#endif
#endif
#ifdef CLIP_QUATS
    q = texelFetch(u_motion_quat, tap_texel(cell, 1), 0);
#ifdef CLIP_BETWEEN
    vec4 q1 = texelFetch(u_motion_quat, tap_texel(cell, 2), 0);
    q = (1.0 - w) * q + w * (dot(q, q1) < 0.0 ? -q1 : q1);
#endif
#endif
#ifdef CLIP_SCALES
    g2.xyz = texelFetch(u_motion_scale, tap_texel(cell, 1), 0).xyz;
#ifdef CLIP_BETWEEN
    g2.xyz = (1.0 - w) * g2.xyz + w * texelFetch(u_motion_scale, tap_texel(cell, 2), 0).xyz;
#endif
#endif
#ifdef CLIP_GROUPS
    int group = int(g2.w);
    if (group >= 0) {
        model = model * mat4(texelFetch(u_groups, ivec2(0, group), 0), texelFetch(u_groups, ivec2(1, group), 0),
                             texelFetch(u_groups, ivec2(2, group), 0), texelFetch(u_groups, ivec2(3, group), 0));
        sh_rot = mat3(texelFetch(u_groups, ivec2(4, group), 0).xyz, texelFetch(u_groups, ivec2(5, group), 0).xyz,
                      texelFetch(u_groups, ivec2(6, group), 0).xyz) * sh_rot;
    }
#endif
}
