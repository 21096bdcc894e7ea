#[cfg(feature = "ssr")]
fn main() {}
#[cfg(not(feature = "ssr"))]
fn main() {}
