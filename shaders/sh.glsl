// Real spherical harmonics of degree 0-3 with the 3DGS sign conventions (see scene/sh.py).
// coeffs[k] is the RGB coefficient of basis function k; returns SH(dir) + 0.5, clamped at 0.

vec3 eval_sh(vec3 coeffs[16], int degree, vec3 d) {
    vec3 c = 0.28209479177387814 * coeffs[0];
    if (degree >= 1) {
        float x = d.x, y = d.y, z = d.z;
        c += 0.4886025119029199 * (-y * coeffs[1] + z * coeffs[2] - x * coeffs[3]);
        if (degree >= 2) {
            float xx = x * x, yy = y * y, zz = z * z;
            c += 1.0925484305920792 * x * y * coeffs[4]
               - 1.0925484305920792 * y * z * coeffs[5]
               + 0.31539156525252005 * (2.0 * zz - xx - yy) * coeffs[6]
               - 1.0925484305920792 * x * z * coeffs[7]
               + 0.5462742152960396 * (xx - yy) * coeffs[8];
            if (degree >= 3) {
                c += -0.5900435899266435 * y * (3.0 * xx - yy) * coeffs[9]
                   + 2.890611442640554 * x * y * z * coeffs[10]
                   - 0.4570457994644658 * y * (4.0 * zz - xx - yy) * coeffs[11]
                   + 0.3731763325901154 * z * (2.0 * zz - 3.0 * xx - 3.0 * yy) * coeffs[12]
                   - 0.4570457994644658 * x * (4.0 * zz - xx - yy) * coeffs[13]
                   + 1.445305721320277 * z * (xx - yy) * coeffs[14]
                   - 0.5900435899266435 * x * (xx - 3.0 * yy) * coeffs[15];
            }
        }
    }
    return max(c + 0.5, 0.0);
}
