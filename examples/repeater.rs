//! The main job: repeat a Phoenix service into this one (placeholder).
fn main() {}
