"""Where each slice sits in patient space, in the DICOM sense (mm, direction cosines).

The phantom dog lies head first and sternal (prone) with AnatomicalOrientationType
QUADRUPED, so patient +x points to the dog's left, +y dorsal and +z cranial. Images are
shown the way vets read them: dorsal at the top, cranial to the left on sagittal images.
"""

from dataclasses import dataclass

import numpy as np

MATRIX = 256  # rows = columns unless a plan says otherwise (plans use 256-512)


def rotation_about_x(degrees: float) -> np.ndarray:
    """Rotation in the y-z plane: how a spine (and a stack angled to it) tilts."""
    angle = np.deg2rad(degrees)
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


@dataclass(frozen=True)
class SliceGeometry:
    """One image plane: the DICOM ImagePositionPatient/ImageOrientationPatient model."""

    position: tuple[float, float, float]  # centre of the top-left pixel, mm
    row_cosines: tuple[float, float, float]  # direction of increasing column index
    column_cosines: tuple[float, float, float]  # direction of increasing row index
    spacing_mm: float  # square pixels
    rows: int = MATRIX
    columns: int = MATRIX

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.row_cosines, self.column_cosines)

    @property
    def orientation(self) -> list[float]:
        return [*self.row_cosines, *self.column_cosines]

    @property
    def centre(self) -> np.ndarray:
        half_rows, half_cols = (self.rows - 1) / 2, (self.columns - 1) / 2
        return (
            np.asarray(self.position)
            + half_cols * self.spacing_mm * np.asarray(self.row_cosines)
            + half_rows * self.spacing_mm * np.asarray(self.column_cosines)
        )

    def pixel_points(self) -> np.ndarray:
        """Patient coordinates (mm) of every pixel centre, shape (rows, columns, 3)."""
        i = np.arange(self.rows, dtype=float)[:, None, None] * self.spacing_mm
        j = np.arange(self.columns, dtype=float)[None, :, None] * self.spacing_mm
        return (
            np.asarray(self.position)
            + j * np.asarray(self.row_cosines)
            + i * np.asarray(self.column_cosines)
        )

    @classmethod
    def from_header(
        cls,
        position: list[float],
        orientation: list[float],
        spacing_mm: float,
        rows: int,
        columns: int,
    ) -> "SliceGeometry":
        """Rebuild a plane from the tags of a written file (used to check them)."""
        o = [float(v) for v in orientation]
        return cls(
            position=tuple(float(v) for v in position),  # type: ignore[arg-type]
            row_cosines=(o[0], o[1], o[2]),
            column_cosines=(o[3], o[4], o[5]),
            spacing_mm=float(spacing_mm),
            rows=int(rows),
            columns=int(columns),
        )


def _plane_at(
    centre: np.ndarray, row: np.ndarray, col: np.ndarray, spacing: float, matrix: int
) -> SliceGeometry:
    half = (matrix - 1) / 2 * spacing
    position = centre - half * row - half * col
    return SliceGeometry(
        position=tuple(float(v) for v in np.round(position, 4)),  # type: ignore[arg-type]
        row_cosines=tuple(float(v) for v in np.round(row, 6)),  # type: ignore[arg-type]
        column_cosines=tuple(float(v) for v in np.round(col, 6)),  # type: ignore[arg-type]
        spacing_mm=spacing,
        rows=matrix,
        columns=matrix,
    )


def sagittal_stack(
    centre: np.ndarray, slices: int, step_mm: float, spacing_mm: float, matrix: int = MATRIX
) -> list[SliceGeometry]:
    """Parallel sagittal planes stepping along the normal (the dog's right, -x).

    Rows run caudally (-z) so cranial is on the left; columns run ventrally (-y) so
    dorsal is at the top.
    """
    row, col = np.array([0.0, 0.0, -1.0]), np.array([0.0, -1.0, 0.0])
    normal = np.cross(row, col)
    first = centre - (slices - 1) / 2 * step_mm * normal
    return [
        _plane_at(first + k * step_mm * normal, row, col, spacing_mm, matrix) for k in range(slices)
    ]


def transverse_block(
    centre: np.ndarray,
    slices: int,
    step_mm: float,
    spacing_mm: float,
    tilt_degrees: float,
    matrix: int = MATRIX,
) -> list[SliceGeometry]:
    """A block of transverse planes around `centre`, tilted in y-z to meet a disc space.

    Rows run to the dog's left (+x), columns ventrally; untilted, the normal is -z, so
    the block steps caudally, the order a radiographer scans in.
    """
    rotate = rotation_about_x(tilt_degrees)
    row = rotate @ np.array([1.0, 0.0, 0.0])
    col = rotate @ np.array([0.0, -1.0, 0.0])
    normal = np.cross(row, col)
    first = centre - (slices - 1) / 2 * step_mm * normal
    return [
        _plane_at(first + k * step_mm * normal, row, col, spacing_mm, matrix) for k in range(slices)
    ]
