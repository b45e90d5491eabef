#version 330 core
// A splat quad's fragment; v_uv runs over the quad in standard deviations.
#include "splat_falloff.glsl"

in vec2 v_uv;
in vec4 v_color;
out vec4 frag;

void main() {
    frag = splat_fragment(v_uv, v_color);
}
