"""An anatomical phantom of the knee in sagittal slices: tissue intensities before the scanner.

``draw_knee`` returns noise-free grey values; ``dlbmt.mri`` adds partial-volume
blur, the receive coil's bias field, Rician noise and the site stamp.

Geometry. Rows are y (0 at the top, proximal), columns are x (0 at the left,
anterior). A slice sits at the mediolateral position ``u``: -1 is the medial
edge of the knee, 0 the intercondylar notch, +1 the lateral edge. The notch
slices show the cruciate ligaments, the trochlea and the tibial spines; the
condylar slices show the round femoral condyle with the menisci as dark
triangles in front of and behind it; the most lateral slices show the fibular
head. Every shape is a signed distance field (negative inside), so cortex and
cartilage are bands of a given width along a boundary.

Contrast: fat-suppressed proton density, the sequence a knee protocol reads
pathology on. Fat and the fatty marrow share the same dark grey, the marrow with
a trabecular texture; muscle is brighter, cartilage brighter still, fluid
brightest; cortex, menisci, tendons and the posterior cruciate ligament are
nearly black. Bone-marrow oedema replaces fat by water and so lights up in the
dark marrow; a joint effusion is a bright pouch.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

SIZE = 256
# Grey levels (0-255) of each tissue before bias field and noise.
TISSUE = {
    "skin": 86.0,
    "fat": 46.0,
    "muscle": 92.0,
    "septum": 58.0,
    "tendon": 14.0,
    "cortex": 9.0,
    "marrow": 54.0,
    "physis": 84.0,
    "cartilage": 142.0,
    "meniscus": 12.0,
    "acl": 92.0,
    "pcl": 16.0,
    "fluid": 236.0,
    "artery": 12.0,
    "vein": 120.0,
    "oedema": 184.0,
}
PATHOLOGIES = ("effusion", "oedema", "cartilage_defect")
# What a pixel of ``draw_knee(..., labels=True)`` shows; index 0 is air.
STRUCTURES = (
    "air", "skin", "subcutaneous fat", "fat", "muscle", "septum", "quadriceps tendon",
    "patellar tendon", "cortex", "femur", "tibia", "patella", "fibula", "physis", "cartilage",
    "meniscus", "ACL", "PCL", "Hoffa fat pad", "notch fat", "popliteal fat", "popliteal artery",
    "popliteal vein", "joint space", "suprapatellar recess", "effusion", "oedema",
    "cartilage defect",
)  # fmt: skip
KNEE_SHIFT_X = 10.0  # moves the knee right so the lower left corner stays air


# --------------------------------------------------------------------------- distance fields


def _circle(x, y, cx, cy, r):
    return np.hypot(x - cx, y - cy) - r


def _ellipse(x, y, cx, cy, a, b, angle=0.0):
    # Approximate signed distance: exact on the axes, good enough for thin rims.
    c, s = np.cos(angle), np.sin(angle)
    u = (x - cx) * c + (y - cy) * s
    v = -(x - cx) * s + (y - cy) * c
    return (np.hypot(u / a, v / b) - 1.0) * min(a, b)


# Distance reported outside a shape's window: far outside any band the drawing uses.
FAR = 1000.0
# How far a canonical coordinate can stray from its value on the middle row or column:
# the pose tilts by at most 3 degrees (128 * sin 3 deg = 7 px) and scales by at most 6 %.
WINDOW_MARGIN = 16


def _window(x, y, x_lo, x_hi, y_lo, y_hi) -> tuple[slice, slice] | None:
    """Image rows and columns that can hold canonical points of the box, or None."""
    mid = SIZE // 2
    cols = np.flatnonzero((x[mid] >= x_lo - WINDOW_MARGIN) & (x[mid] <= x_hi + WINDOW_MARGIN))
    rows = np.flatnonzero((y[:, mid] >= y_lo - WINDOW_MARGIN) & (y[:, mid] <= y_hi + WINDOW_MARGIN))
    if not len(cols) or not len(rows):
        return None
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _distance_to_segment(x, y, x0, y0, x1, y1):
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return np.hypot(x - (x0 + t * dx), y - (y0 + t * dy))


def _polyline(x, y, px, py, half_width):
    # Thin shapes cover a small part of the slice: compute them in their window only.
    out = np.full(x.shape, FAR, np.float32)
    window = _window(
        x, y, min(px) - half_width, max(px) + half_width, min(py) - half_width, max(py) + half_width
    )
    if window is None:
        return out
    xs, ys = x[window], y[window]
    pieces = [
        _distance_to_segment(xs, ys, px[i], py[i], px[i + 1], py[i + 1]) for i in range(len(px) - 1)
    ]
    out[window] = np.minimum.reduce(pieces) - half_width
    return out


def _segment(x, y, x0, y0, x1, y1, half_width):
    return _polyline(x, y, (x0, x1), (y0, y1), half_width)


def _curve(x, y, points, half_width):
    """Distance to a quadratic Bezier curve through ``points`` (start, control, end), sampled."""
    (x0, y0), (x1, y1), (x2, y2) = points
    t = np.linspace(0.0, 1.0, 9)
    px = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * x1 + t**2 * x2
    py = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * y1 + t**2 * y2
    return _polyline(x, y, px.tolist(), py.tolist(), half_width)


def _triangle(x, y, p0, p1, p2):
    # Intersection of three half planes, whatever the orientation of the corners.
    pts = (p0, p1, p2)
    area = (p1[0] - p0[0]) * (p2[1] - p0[1]) - (p1[1] - p0[1]) * (p2[0] - p0[0])
    sign = 1.0 if area > 0 else -1.0
    out = None
    for (ax, ay), (bx, by) in zip(pts, pts[1:] + pts[:1], strict=True):
        ex, ey = bx - ax, by - ay
        d = sign * ((x - ax) * ey - (y - ay) * ex) / np.hypot(ex, ey)
        out = d if out is None else np.maximum(out, d)
    return out


def _box(x, y, x0, x1, y0, y1):
    return np.maximum(np.maximum(x0 - x, x - x1), np.maximum(y0 - y, y - y1))


def _smooth_union(a, b, k):
    # Polynomial smooth minimum: bones flare into their ends instead of meeting at a corner.
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1 - h) + a * h - k * h * (1 - h)


def _above_line(x, y, p0, p1):
    """Signed distance to the line p0-p1, positive on the side of smaller y (proximal)."""
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    return ((x - x0) * dy - (y - y0) * dx) / np.hypot(dx, dy) * (1.0 if dx > 0 else -1.0)


def _ramp(value, start, end):
    """0 below ``start``, 1 above ``end``, linear in between."""
    return float(np.clip((value - start) / (end - start), 0.0, 1.0))


def smooth_noise(rng: np.random.Generator, sigma, shape=(SIZE, SIZE)) -> np.ndarray:
    """Gaussian-filtered white noise with unit spread; ``sigma`` may differ per axis."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
    return field / (field.std() + 1e-6)


# --------------------------------------------------------------------------- painting


class _Canvas:
    """One slice: grey values and, for each pixel, the anatomical structure painted last."""

    def __init__(self, contrast: dict[str, float]):
        self.contrast = contrast
        self.grey = np.zeros((SIZE, SIZE), np.float32)
        self.label = np.zeros((SIZE, SIZE), np.uint8)  # 0 is air

    def paint(self, mask, tissue, texture=None, scale=1.0, structure=None):
        value = self.contrast[tissue] * scale
        self.grey[mask] = value * (1 + texture[mask]) if texture is not None else value
        self.label[mask] = STRUCTURES.index(structure or tissue)

    def blend(self, weight, tissue, structure=None):
        # Partial replacement, for lesions with ill-defined margins.
        self.grey += weight * (self.contrast[tissue] - self.grey)
        self.label[weight > 0.5] = STRUCTURES.index(structure or tissue)


# --------------------------------------------------------------------------- the knee


def draw_knee(rng: np.random.Generator, pathology: str | None, positions, labels: bool = False):
    """Noise-free tissue grey values, float32 (len(positions), 256, 256).

    With ``labels=True`` also the structure shown by each pixel, uint8 of the
    same shape, as indices into ``STRUCTURES``: ``(grey, labels)``.

    ``positions`` are the mediolateral positions ``u`` of the slices (see the
    module docstring). Everything random is drawn from ``rng`` before the first
    slice, in a fixed order, so a slice at a given position is the same whatever
    the other positions are.
    """
    # Case-level anatomy: position, size and tilt of the knee, and the contrast of this scan.
    shift_x, shift_y = rng.uniform(-5, 5), rng.uniform(-6, 6)
    scale = rng.uniform(0.94, 1.06)
    tilt = np.deg2rad(rng.uniform(-3, 3))
    contrast = {k: v * rng.uniform(0.93, 1.07) for k, v in TISSUE.items()}
    flexion = rng.uniform(-4.0, 4.0)  # moves the patella and the tibia a little
    fat_front = rng.uniform(5.0, 9.0)  # subcutaneous fat, anterior
    fat_back = rng.uniform(8.0, 14.0)
    muscle_fibres = smooth_noise(rng, (6.0, 0.9))  # fascicles run along the leg
    marrow_trabeculae = smooth_noise(rng, 0.9)
    fat_texture = smooth_noise(rng, 2.0)
    fluid_small = rng.uniform(1.5, 2.5)  # physiological fluid in the suprapatellar recess
    septa_x = rng.uniform(-4, 4, 3)

    # Pathology parameters are drawn for every case, in the same order, so that a case
    # with a lesion shows the same knee as the same seed without one.
    effusion_a, effusion_b = rng.uniform(8, 11), rng.uniform(20, 27)
    oedema_in_femur = rng.random() < 0.5
    oedema_x = rng.uniform(-10, 10)
    oedema_r = rng.uniform(17, 23)
    oedema_u = rng.uniform(-0.1, 0.1)
    oedema_blob = smooth_noise(rng, 2.5)
    defect_y = rng.uniform(112, 128)
    defect_half = rng.uniform(7.0, 10.0)  # half length along the surface, pixels
    defect_u = rng.uniform(-0.08, 0.08)

    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    # Map image coordinates into the canonical knee frame.
    c, s = np.cos(tilt), np.sin(tilt)
    xr, yr = xx - SIZE / 2 - shift_x, yy - SIZE / 2 - shift_y
    x = (c * xr + s * yr) / scale + SIZE / 2 - KNEE_SHIFT_X
    y = (-s * xr + c * yr) / scale + SIZE / 2

    slices = []
    for u in positions:
        u = float(np.clip(u, -1.0, 1.0))
        side = abs(u)
        notch = 1.0 - _ramp(side, 0.12, 0.3)  # 1 in the intercondylar notch
        condylar = 1.0 - notch
        medial = u < 0
        canvas = _Canvas(contrast)

        # ---- soft tissue: skin, subcutaneous fat, muscle with fascicles and septa
        narrow = 1.0 - 0.10 * side**2
        env_rows = np.array([0, 60, 96, 130, 160, 200, 256], float)
        env_front = np.array([42, 46, 54, 62, 84, 104, 110], float)
        env_back = np.array([226, 224, 218, 216, 224, 230, 226], float)
        mid = np.interp(y, env_rows, (env_front + env_back) / 2)
        half_width = np.interp(y, env_rows, (env_back - env_front) / 2) * narrow
        front, back = mid - half_width, mid + half_width
        leg = np.maximum(front - x, x - back)
        canvas.paint(leg <= 0, "skin")
        fat_depth = np.where(x < mid, fat_front, fat_back)
        canvas.paint(leg <= -1.5, "fat", 0.03 * fat_texture, structure="subcutaneous fat")
        muscle = leg <= -fat_depth
        canvas.paint(muscle, "muscle", 0.09 * muscle_fibres)
        # Intermuscular septa: thin dark lines between the muscle groups.
        for (x0, y0, x1, y1), dx in zip(
            ((150, 0, 178, 96), (184, 172, 206, 256), (178, 150, 200, 256)), septa_x, strict=True
        ):
            line = (_segment(x, y, x0 + dx, y0, x1 + dx, y1, 0.7) <= 0) & muscle
            canvas.paint(line, "septum")

        # ---- femur: shaft, metaphysis flaring into the condyle, notch in the middle slices
        size = 1.0 if medial else 0.94
        end = np.sqrt(max(0.0, 1.0 - ((side - 0.45) / 0.62) ** 2)) if side > 0.45 else 1.0
        r_a, r_b = 40.0 * size * end, 32.0 * size * end
        fcx, fcy = 141.0, 122.0
        condyle = _ellipse(x, y, fcx, fcy, r_a, r_b)
        shaft_top = 80.0 * _ramp(side, 0.4, 1.0) - 40.0
        shaft = _box(x, y, 104.0 + 8 * side, 146.0 - 6 * side, shaft_top, 112.0)
        femur = _smooth_union(shaft, condyle, 16.0)
        roof = ((116.0, 146.0), (172.0, 108.0))  # Blumensaat line, notch roof
        below_roof = -_above_line(x, y, *roof)
        notch_space = np.maximum(-below_roof + 60.0 * condylar, 114.0 - x)
        femur = np.maximum(femur, -notch_space)
        # Far out, the slice misses the shaft: the bone ends in a rounded metaphysis.
        femur_shaft = femur
        if shaft_top > -40:
            dome = _ellipse(x, y, fcx - 12.0, fcy, 52.0, fcy - shaft_top)
            femur_shaft = -_smooth_union(-femur, -dome, 8.0)

        # ---- tibia: plateau with a posterior slope, spines in the notch, tuberosity in front
        t_scale = np.sqrt(max(0.0, 1.0 - ((side - 0.55) / 0.55) ** 2)) if side > 0.55 else 1.0
        dy = 0.5 * flexion
        plateau = 160.0 + dy + 0.08 * (x - 140.0)
        # Smooth intersection of the plateau and the flanks: rounded edges, not corners.
        flanks = np.abs(x - 142.0) - np.clip(40 - 0.55 * (y - 168), 18, 40) * t_scale
        epiphysis = -_smooth_union(-(plateau - y), -flanks, 6.0)
        tibia = epiphysis
        if side < 0.5:  # the tuberosity, where the patellar tendon inserts
            tuberosity = _circle(x, y, 110.0, 190.0 + dy, 8.0 * (1.0 - _ramp(side, 0.3, 0.5)))
            tibia = _smooth_union(tibia, tuberosity, 8.0)
        if notch > 0:
            # The tibial spines: a low mound between the two plateaus.
            tibia = _smooth_union(tibia, _ellipse(x, y, 141.0, plateau, 11.0, 7.0 * notch), 4.0)
        tibia = np.maximum(tibia, y - 262.0)
        fibula = None
        if u > 0.62:  # the fibular head lies behind the lateral tibial plateau
            f = _ramp(u, 0.62, 0.72)
            fibula = np.minimum(
                _ellipse(x, y, 176.0, 200.0 + dy, 11.0 * f, 14.0 * f),
                _segment(x, y, 178.0, 208.0 + dy, 186.0, 262.0, 6.0 * f),
            )

        # ---- patella with its thick cartilage, and the extensor tendons
        p_size = np.sqrt(max(0.0, 1.0 - (u / 0.55) ** 2))
        pcx, pcy = 80.0 - 0.3 * flexion, 100.0 + flexion
        patella = _ellipse(x, y, pcx, pcy, 14.0 * p_size + 0.01, 28.0 * p_size + 0.01, -0.17)
        tendons = 1.0 - _ramp(side, 0.35, 0.6)
        if tendons > 0:
            quad = _curve(x, y, ((pcx - 6, pcy - 26), (70.0, 50.0), (74.0, 14.0)), 4.0 * tendons)
            ligament = _segment(x, y, pcx + 2, pcy + 27, 110.0, 186.0 + dy, 3.4 * tendons)
            # Quadriceps fat pad behind the tendon, prefemoral fat in front of the femur.
            canvas.paint((_triangle(x, y, (80, 30), (82, 74), (93, 74)) <= 0) & muscle, "fat")
            canvas.paint((_triangle(x, y, (102, 36), (96, 88), (104, 94)) <= 0) & muscle, "fat")
            hoffa = _triangle(x, y, (pcx + 6, pcy + 26), (116.0, 150.0 + dy), (106.0, 182.0 + dy))
            in_hoffa = (hoffa <= 0) & (leg <= 0)
            canvas.paint(in_hoffa, "fat", 0.03 * fat_texture, structure="Hoffa fat pad")
            for p0, p1 in (((92, 132), (108, 160)), ((96, 150), (104, 174))):
                canvas.paint((_segment(x, y, *p0, *p1, 0.6) <= 0) & in_hoffa, "septum")
            canvas.paint(quad <= 0, "tendon", structure="quadriceps tendon")
            canvas.paint(ligament <= 0, "tendon", structure="patellar tendon")

        # ---- popliteal fossa: fat, artery (flow void) and vein, in the middle slices
        if side < 0.4:
            popliteal = (_ellipse(x, y, 192.0, 150.0, 13.0, 40.0) <= 0) & (leg <= -4)
            canvas.paint(popliteal, "fat", structure="popliteal fat")
            vessel = ((194.0, 70.0), (202.0, 150.0), (190.0, 236.0))
            canvas.paint(_curve(x, y, vessel, 2.2) <= 0, "artery", structure="popliteal artery")
            vein = tuple((px + 6.0, py) for px, py in vessel)
            canvas.paint(_curve(x, y, vein, 2.8) <= 0, "vein", structure="popliteal vein")

        # ---- bones: cortex, fatty marrow with trabeculae, physeal scars
        bones = {"femur": femur_shaft, "tibia": tibia, "patella": patella, "fibula": fibula}
        for name, bone in bones.items():
            if bone is None or (name == "patella" and p_size == 0):
                continue
            canvas.paint(bone <= 0, "cortex")
            canvas.paint(bone <= -2.2, "marrow", 0.06 * marrow_trabeculae, structure=name)
        scar_f = (np.abs(y - (104.0 - 0.12 * (x - 120))) < 0.9) & (femur_shaft <= -3)
        scar_t = (np.abs(y - (182.0 + dy + 0.05 * (x - 140))) < 0.9) & (tibia <= -3)
        canvas.paint(scar_f | scar_t, "physis")

        # ---- articular cartilage: femur (trochlea and condyle), tibial plateau, patella
        roof_band = (below_roof > -3) & (x > 116) & (notch > 0.5)
        metaphysis_back = (x > fcx + 6) & (y < fcy - 12)
        cart_f = (femur > 0) & (femur <= 3.0) & (y > 92) & ~roof_band & ~metaphysis_back
        canvas.paint(cart_f, "cartilage")
        plateau_band = (tibia > 0) & (tibia <= 3.0) & (y < plateau + 2)
        plateau_band &= np.abs(x - 142.0) < 38 * t_scale
        if notch > 0.5:
            plateau_band &= np.abs(x - 140.0) > 14  # no cartilage on the intercondylar area
        canvas.paint(plateau_band, "cartilage")
        if p_size > 0:
            facing = x > pcx + 2
            canvas.paint((patella > 0) & (patella <= 3.8 * p_size) & facing, "cartilage")

        # ---- joint space: a thin fluid film where femoral and tibial cartilage meet
        film = (femur > 3.0) & (tibia > 3.0) & (femur < 6.5) & (y > fcy) & (y < plateau + 2)
        film &= np.abs(x - 142.0) < 32 * t_scale
        canvas.paint(film & (leg <= -6), "fluid", scale=0.8, structure="joint space")

        # ---- menisci: dark triangles in front of and behind the condyle
        if condylar > 0 and end > 0:
            front_x = 142.0 - 40 * t_scale + 2
            back_x = 142.0 + 40 * t_scale - 2
            jl_front = 160.0 + dy + 0.08 * (front_x - 140)  # the plateau's height there
            jl_back = 160.0 + dy + 0.08 * (back_x - 140)
            body = _ramp(side, 0.7, 0.95)  # far out, the horns join into the meniscal body
            depth_front = (18.0 + 24 * body) * condylar
            depth_back = ((26.0 if medial else 20.0) + 24 * body) * condylar
            height = 10.0 + (3.0 if medial else 1.5)
            horn_front = _triangle(
                x,
                y,
                (front_x, jl_front - height * 0.8),
                (front_x, jl_front),
                (front_x + depth_front, jl_front),
            )
            horn_back = _triangle(
                x, y, (back_x, jl_back - height), (back_x, jl_back), (back_x - depth_back, jl_back)
            )
            free = (femur > 1.5) & (tibia > 0.5)
            canvas.paint((np.minimum(horn_front, horn_back) <= 0) & free, "meniscus")

        # ---- cruciate ligaments in the notch: striated ACL, dark curved PCL
        acl_w = 1.0 - _ramp(abs(u - 0.08), 0.1, 0.2)
        pcl_w = 1.0 - _ramp(abs(u + 0.08), 0.1, 0.2)
        if notch > 0:
            # The notch holds fat around the cruciate ligaments, open to the popliteal fat.
            notch_fat = (notch_space <= 0) & (tibia > 3) & (leg <= -8)
            notch_fat &= _ellipse(x, y, 150, 136, 34, 30) <= 0
            canvas.paint(notch_fat, "fat", 0.03 * fat_texture, structure="notch fat")
        if acl_w > 0:
            acl = _segment(x, y, 130.0, 158.0 + dy, 166.0, 114.0, 4.0 * acl_w)
            stripes = 1 + 0.25 * np.sin(0.9 * ((x - 130.0) * 0.77 + (y - 158.0) * 0.63))
            canvas.paint(acl <= 0, "acl", stripes - 1.0, structure="ACL")
        if pcl_w > 0:
            pcl = _curve(x, y, ((166.0, 170.0 + dy), (176.0, 128.0), (144.0, 124.0)), 3.4 * pcl_w)
            canvas.paint(pcl <= 0, "pcl", structure="PCL")

        # ---- suprapatellar recess: a slit of fluid, or a distended pouch with effusion
        effusion = pathology == "effusion" and side < 0.8
        recess_a = effusion_a if effusion else fluid_small
        recess_b = effusion_b if effusion else 16.0
        recess = _ellipse(x, y, 94.0, 66.0 - (recess_b - 16) * 0.5, recess_a, recess_b, 0.08)
        if tendons > 0 or effusion:
            pouch = "effusion" if effusion else "suprapatellar recess"
            canvas.paint((recess <= 0) & (femur > 0) & (leg <= -4), "fluid", structure=pouch)
        if effusion:
            # Fluid also fills the posterior recess behind the condyle and widens the joint space.
            posterior = _ellipse(x, y, 184.0, 116.0, 6.0, 17.0, np.deg2rad(12))
            behind = (posterior <= 0) & (femur > 0) & (leg <= -6)
            canvas.paint(behind, "fluid", structure="effusion")
            wide = (femur > 0) & (femur <= 6) & (y > fcy + 18) & (tibia > 0) & (leg <= -8)
            canvas.paint(wide & (np.abs(x - 142.0) < 40), "fluid", structure="effusion")

        # ---- bone-marrow oedema: ill-defined, patchy loss of the fat signal near the joint
        if pathology == "oedema":
            reach_u = 1.0 - _ramp(abs(u - oedema_u), 0.25, 0.45)
            if reach_u > 0:
                if oedema_in_femur:
                    ox, oy = 120.0 + oedema_x, 138.0 - oedema_r * 0.5
                    host = femur_shaft <= -2.2
                else:
                    ox, oy = 141.0 + oedema_x, 160.0 + dy + oedema_r * 0.8
                    host = tibia <= -2.2
                reach = np.clip(
                    1.2 * (1.0 - (_circle(x, y, ox, oy, 0.0) / oedema_r) ** 2), 0.0, 1.0
                )
                patchy = np.clip(0.85 + 0.2 * oedema_blob, 0.5, 1.0)
                weight = np.where(host, reach * patchy * reach_u, 0.0)
                canvas.blend(weight, "oedema")

        # ---- cartilage defect on the trochlea: a full-thickness gap filled with fluid
        if pathology == "cartilage_defect" and abs(u - defect_u) < 0.22:
            gap = cart_f & (np.abs(y - defect_y) < defect_half) & (x < fcx - 8)
            canvas.paint(gap, "fluid", structure="cartilage defect")
            # Fluid reaches through the bone plate into a subchondral cyst under the defect.
            cyst = _ellipse(
                x, y, fcx - 8 - 1.5 * defect_half, defect_y, 0.9 * defect_half, defect_half
            )
            canvas.paint((cyst <= 0) & (femur <= 0), "fluid", structure="cartilage defect")

        slices.append(canvas)
    grey = np.stack([canvas.grey for canvas in slices])
    return (grey, np.stack([canvas.label for canvas in slices])) if labels else grey
