#version 330 core
// Vertex-coloured lines and points, premultiplied on output like everything else.
in vec4 v_color;
out vec4 frag;

void main() {
    frag = vec4(v_color.rgb * v_color.a, v_color.a);
}
