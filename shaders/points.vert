#version 330 core
uniform mat4 u_mvp;
uniform float u_point_size;
in vec3 a_position;
in vec3 a_color;
out vec4 v_color;

void main() {
    v_color = vec4(a_color, 1.0);
    gl_PointSize = u_point_size;
    gl_Position = u_mvp * vec4(a_position, 1.0);
}
