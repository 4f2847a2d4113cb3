//! Restoration stages that are not convolutions: spectral noise reduction ([`denoise`]) and
//! mains hum removal by tone subtraction ([`dehum`]).
//!
//! Both stream sample by sample with a fixed latency, keep all their state in buffers made at
//! build time, and give the same output whatever the block size.

pub mod dehum;
pub mod denoise;
pub mod rnnoise;
