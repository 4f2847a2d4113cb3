//! Files, pipes and stdin/stdout as the engine's ends: a reader thread decoding with
//! [`crate::io::Source`], a writer thread encoding with [`crate::io::Sink`], bounded channels
//! between them and the processing thread (memory stays flat however long the stream), and
//! blocks handed back for reuse instead of allocated.
//!
//! A Ctrl-C ends the input through the source itself (it sees the stop request even in a read
//! blocked on a silent pipe) after it has handed on every complete frame it took; a pipe that
//! breaks off at the moment of a Ctrl-C (the whole pipeline interrupted) is that same early end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::{Control, Input, Output, Written};
use crate::block::Block;
use crate::conv::Sample;
use crate::error::{Error, Result};
use crate::io::{Sink, Source};

/// Blocks in flight between threads.
const DEPTH: usize = 4;

/// How long a pipe that broke off is given for the Ctrl-C that may have caused it to arrive.
const GRACE: Duration = Duration::from_millis(500);

/// What the reader thread hands on.
enum Msg<T> {
    Block(Block<T>),
    /// The end of the input; `true` when a stop (Ctrl-C) ended it.
    End(bool),
    Failed(Error),
}

/// A file, pipe or stdin read on a thread of its own.
pub struct FileInput<T> {
    rx: Receiver<Msg<T>>,
    spare: Sender<Block<T>>,
    /// A block not yet fully handed on, and how far into it.
    pending: Option<(Block<T>, usize)>,
    channels: usize,
    stopped: bool,
    ended: bool,
}

impl<T: Sample> FileInput<T> {
    /// Starts the reader thread over `source`, reading `read_frames` frames at a time.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn spawn(mut source: Source, read_frames: usize) -> Result<FileInput<T>> {
        let channels = source.info.channels;
        let (tx, rx) = bounded::<Msg<T>>(DEPTH);
        let (spare_tx, spare_rx) = bounded::<Block<T>>(DEPTH + 2);
        // Not joined: it always sends its last message before it ends, and ends when the
        // receiver is gone.
        std::thread::Builder::new()
            .name("convoy-reader".into())
            .spawn(move || {
                loop {
                    let mut block = spare_rx.try_recv().unwrap_or_default();
                    let msg = match source.read_into::<T>(&mut block, read_frames) {
                        Ok(0) => Msg::End(source.stopped()),
                        Ok(_) => Msg::Block(block),
                        // A pipe that broke off: if a Ctrl-C comes with it, the user stopped
                        // the pipeline (every process got the signal; the producer died first).
                        Err(_) if source.cut_short() && super::stop::wait(GRACE) => Msg::End(true),
                        Err(e) => Msg::Failed(e),
                    };
                    let last = !matches!(msg, Msg::Block(_));
                    if tx.send(msg).is_err() || last {
                        return;
                    }
                }
            })
            .map_err(|e| Error::Internal(format!("cannot start the reader thread: {e}")))?;
        Ok(FileInput {
            rx,
            spare: spare_tx,
            pending: None,
            channels,
            stopped: false,
            ended: false,
        })
    }
}

impl<T: Sample> Input<T> for FileInput<T> {
    fn channels(&self) -> usize {
        self.channels
    }

    fn read(&mut self, block: &mut Block<T>, max: usize, _ctl: &Control) -> Result<usize> {
        loop {
            if let Some((mut p, at)) = self.pending.take() {
                let len = p.frames();
                let have = len - at;
                if at == 0 && have <= max {
                    // The whole block: hand it over as it is, take the caller's for reuse.
                    std::mem::swap(block, &mut p);
                    let _ = self.spare.try_send(p);
                    return Ok(have);
                }
                let k = have.min(max);
                block.clear(p.channels());
                block.extend_from(&p, at..at + k);
                if at + k < len {
                    self.pending = Some((p, at + k));
                } else {
                    let _ = self.spare.try_send(p);
                }
                return Ok(k);
            }
            if self.ended {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Msg::Block(b)) => self.pending = Some((b, 0)),
                Ok(Msg::End(stopped)) => {
                    self.stopped = stopped;
                    self.ended = true;
                }
                Ok(Msg::Failed(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(_) => {
                    self.ended = true;
                    return Err(Error::Internal("the reader thread failed".into()));
                }
            }
        }
    }

    fn stopped(&self) -> bool {
        self.stopped
    }
}

/// A file, FIFO, device file or stdout written on a thread of its own.
pub struct FileOutput<T> {
    tx: Option<Sender<Block<T>>>,
    spare: Receiver<Block<T>>,
    writer: Option<JoinHandle<Result<Sink>>>,
    sink: Option<Sink>,
    closed: Arc<AtomicBool>,
}

impl<T: Sample> FileOutput<T> {
    /// Starts the writer thread over `sink`.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn spawn(mut sink: Sink) -> Result<FileOutput<T>> {
        let (tx, rx) = bounded::<Block<T>>(DEPTH);
        let (spare_tx, spare_rx) = bounded::<Block<T>>(DEPTH + 2);
        let closed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&closed);
        let writer = std::thread::Builder::new()
            .name("convoy-writer".into())
            .spawn(move || -> Result<Sink> {
                for block in rx {
                    sink.write(&block)?;
                    if sink.closed {
                        flag.store(true, Ordering::SeqCst);
                        break;
                    }
                    let _ = spare_tx.try_send(block);
                }
                Ok(sink)
            })
            .map_err(|e| Error::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(FileOutput {
            tx: Some(tx),
            spare: spare_rx,
            writer: Some(writer),
            sink: None,
            closed,
        })
    }

    /// Closes the channel and collects the writer's sink (or its error).
    fn join(&mut self) -> Result<()> {
        self.tx = None;
        if let Some(w) = self.writer.take() {
            match w.join() {
                Ok(Ok(sink)) => self.sink = Some(sink),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(Error::Internal("the writer thread failed".into())),
            }
        }
        Ok(())
    }
}

impl<T: Sample> Output<T> for FileOutput<T> {
    fn write(&mut self, block: &mut Block<T>, _ctl: &Control) -> Result<()> {
        let mut full = self.spare.try_recv().unwrap_or_default();
        std::mem::swap(block, &mut full);
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(full).is_ok());
        if !sent && !self.closed.load(Ordering::SeqCst) {
            // The writer stopped on an error: report it now.
            self.join()?;
        }
        Ok(())
    }

    fn drain(&mut self, _ctl: &Control) -> Result<()> {
        self.join()
    }

    fn closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    fn finish(mut self: Box<Self>) -> Result<Written> {
        self.join()?;
        let Some(sink) = self.sink.take() else {
            return Err(Error::Internal("the output was never finished".into()));
        };
        let (frames, clipped, format, closed) = (
            sink.frames,
            sink.clipped(),
            sink.sample_format(),
            sink.closed,
        );
        Ok(Written {
            finished: Some(sink.finish()?),
            frames,
            clipped,
            format: Some(format),
            closed,
        })
    }
}

impl<T> Drop for FileOutput<T> {
    /// An output dropped before it was finished (a failed run): the writer is joined so its
    /// temp file is deleted before the process can exit.
    fn drop(&mut self) {
        self.tx = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}
