//! Live audio: sound devices through cpal, with the chain on its own thread.
//!
//! Data path: capture callback -> SPSC ring -> processing thread (the chain on fixed blocks)
//! -> SPSC ring -> playback callback. Either end may instead be a file or a pipe (a reader or
//! writer thread, as in `convoy run`).

pub mod devices;
pub mod quiet;
pub mod streams;
