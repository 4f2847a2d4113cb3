//! One module per subcommand: each validates its arguments, does the work, writes the result.

pub mod bench;
pub mod convolve;
pub mod convolve_nd;
pub mod devices;
pub mod live;
pub mod plot;
pub mod response;
pub mod run;
