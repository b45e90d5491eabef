#version 330 core
// A splat point sprite's fragment: the same falloff as the quads, from the pixel's offset.
#include "splat_falloff.glsl"

flat in vec2 v_center;
flat in mat2 v_to_uv;
flat in vec4 v_color;
out vec4 frag;

void main() {
    frag = splat_fragment(v_to_uv * (gl_FragCoord.xy - v_center), v_color);
}
