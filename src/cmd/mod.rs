//! One module per subcommand: each validates its arguments, does the work, writes the result.

pub mod batch;
pub mod bench;
pub mod convolve;
pub mod convolve_nd;
pub mod convolve_typed;
#[cfg(feature = "device")]
pub mod devices;
#[cfg(feature = "device")]
pub mod live;
pub mod plot;
pub mod response;
pub mod run;
pub mod run_args;

/// The error of a build without sound devices (`--no-default-features --features cli`).
#[cfg(not(feature = "device"))]
pub fn no_devices() -> convoy::Error {
    convoy::Error::Usage(
        "this convoy was built without sound devices (the `device` feature)".into(),
    )
}
