#version 330 core
uniform mat4 u_mvp;
uniform mat4 u_model;
uniform mat3 u_normal_matrix;  // inverse transpose of the model's linear part

in vec3 a_position;
in vec3 a_normal;
in vec4 a_color;
in vec2 a_uv;

out vec3 v_world;
out vec3 v_normal;
out vec4 v_color;
out vec2 v_uv;

void main() {
    v_world = (u_model * vec4(a_position, 1.0)).xyz;
    v_normal = u_normal_matrix * a_normal;
    v_color = a_color;
    v_uv = a_uv;
    gl_Position = u_mvp * vec4(a_position, 1.0);
}
