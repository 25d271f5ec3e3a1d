"""Using trained models on new faces: bundles (`bundle`), `devfer predict` on photos, folders
and videos (`run`), and `devfer live` on a camera or a video file (`live`)."""
