// EWA splatting of one 3D Gaussian (the 3DGS / gsplat formulas), in OpenCV pixel coordinates
// (x right, y down, origin at the top-left corner). Mirrored by render/projection.py; the constants
// are scene/formation.py's, shared with the training rasterizer.

#include "formation.glsl"

uniform mat4 u_view_cv;     // world -> OpenCV camera (+Z forward, +Y down)
uniform vec2 u_focal;       // fx, fy in pixels
uniform vec2 u_principal;   // cx, cy in pixels
uniform vec2 u_viewport;    // width, height in pixels
uniform vec2 u_near_far;

// Projects a world-space Gaussian. Returns false when it is behind the near plane, past the far
// plane or degenerate. cov2d = (xx, xy, yy) in px^2, low-pass (EPS2D) included.
bool ewa_project(vec3 mean, mat3 cov, out vec2 center, out float depth, out vec3 cov2d) {
    vec3 t = (u_view_cv * vec4(mean, 1.0)).xyz;
    depth = t.z;
    center = u_focal * t.xy / t.z + u_principal;
    vec2 tan_fov = 0.5 * u_viewport / u_focal;
    vec2 lim_pos = (u_viewport - u_principal) / u_focal + FOV_MARGIN * tan_fov;
    vec2 lim_neg = u_principal / u_focal + FOV_MARGIN * tan_fov;
    vec2 tc = t.z * clamp(t.xy / t.z, -lim_neg, lim_pos);
    // J is 2x3; GLSL matrices are column-major, so mat3x2(col0, col1, col2).
    mat3x2 J = mat3x2(u_focal.x / t.z, 0.0,
                      0.0, u_focal.y / t.z,
                      -u_focal.x * tc.x / (t.z * t.z), -u_focal.y * tc.y / (t.z * t.z));
    mat3 W = mat3(u_view_cv);
    mat2 c = J * (W * cov * transpose(W)) * transpose(J);
    cov2d = vec3(c[0][0] + EPS2D, c[1][0], c[1][1] + EPS2D);
    float det = cov2d.x * cov2d.z - cov2d.y * cov2d.y;
    return det > 0.0 && depth > u_near_far.x && depth < u_near_far.y;
}

// The quad around the ellipse: half-axes along the eigenvectors of cov2d, scaled to the extent
// rule's reach, min(EXTEND, sqrt(2 ln(opacity / ALPHA_MIN))) sigmas, beyond which alpha is under
// ALPHA_MIN. Returns that extent in sigmas (0 when the splat is too faint to show at all).
float splat_quad(vec3 cov2d, float opacity, out vec2 axis1, out vec2 axis2) {
    float mid = 0.5 * (cov2d.x + cov2d.z);
    float det = cov2d.x * cov2d.z - cov2d.y * cov2d.y;
    float disc = sqrt(max(mid * mid - det, 0.0));
    float l1 = mid + disc;
    float l2 = max(mid - disc, 1e-6);
    vec2 v1 = abs(cov2d.y) > 1e-12 ? normalize(vec2(cov2d.y, l1 - cov2d.x))
                                   : (cov2d.x >= cov2d.z ? vec2(1.0, 0.0) : vec2(0.0, 1.0));
    float extent = opacity >= ALPHA_MIN ? min(EXTEND, sqrt(2.0 * log(opacity / ALPHA_MIN))) : 0.0;
    axis1 = v1 * (extent * sqrt(l1));
    axis2 = vec2(-v1.y, v1.x) * (extent * sqrt(l2));
    return extent;
}
