#version 330 core
// Two-sided Lambert with a headlight plus a little sky fill: enough to read shape in a viewport.
// Meshes are opaque (glTF's default alpha mode): alpha is ignored and the output's alpha is 1, so
// whatever shows the picture (the screen, a grab of the window, a PNG) shows the same colours.
uniform vec3 u_campos;
uniform bool u_textured;
uniform sampler2D u_texture;
uniform vec4 u_flat_color;  // alpha > 0: draw this colour unlit (wireframe overlay)
uniform bool u_lit;  // false: the base colour as it is (to judge a baked texture)

in vec3 v_world;
in vec3 v_normal;
in vec4 v_color;
in vec2 v_uv;
out vec4 frag;

void main() {
    if (u_flat_color.a > 0.0) {
        frag = u_flat_color;
        return;
    }
    vec4 base = u_textured ? texture(u_texture, v_uv) * v_color : v_color;
    if (!u_lit) {
        frag = vec4(base.rgb, 1.0);
        return;
    }
    vec3 n = normalize(v_normal);
    vec3 to_eye = normalize(u_campos - v_world);
    if (dot(n, to_eye) < 0.0) n = -n;
    float light = 0.25 + 0.15 * (0.5 + 0.5 * n.y) + 0.6 * max(dot(n, to_eye), 0.0);
    frag = vec4(base.rgb * light, 1.0);
}
