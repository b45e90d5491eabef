#version 330 core
// Copies the (possibly lower-resolution) scene image to the output, filtered bilinearly.
uniform sampler2D u_image;
in vec2 v_uv;
out vec4 frag;

void main() {
    frag = texture(u_image, v_uv);
}
