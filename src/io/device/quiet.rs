//! alsa-lib prints its complaints ("ALSA lib pcm.c:... Unknown PCM") straight to stderr. convoy
//! reports device problems in one line of its own, so that chatter is captured instead.

/// Captures alsa-lib's messages on the calling thread from now on (Linux; a no-op elsewhere).
/// Keep the returned guard alive while devices are opened; `text()` gives what was captured.
pub struct AlsaChatter {
    #[cfg(target_os = "linux")]
    out: Option<std::rc::Rc<std::cell::RefCell<alsa::Output>>>,
}

impl AlsaChatter {
    pub fn capture() -> AlsaChatter {
        AlsaChatter {
            #[cfg(target_os = "linux")]
            out: alsa::Output::local_error_handler().ok(),
        }
    }

    /// What alsa-lib said so far (for a debugging hint), trimmed.
    pub fn text(&self) -> String {
        #[cfg(target_os = "linux")]
        if let Some(out) = &self.out {
            return out.borrow().to_string().trim().to_string();
        }
        String::new()
    }
}

/// Everything written to stderr (fd 2) goes to /dev/null while this lives: plugin libraries
/// that alsa-lib loads to enumerate devices (libjack: "Cannot connect to server socket...")
/// print straight to the file descriptor, past alsa-lib's error handler. `CONVOY_DEBUG=1`
/// keeps them. Not for threads that report errors meanwhile.
pub struct MutedStderr {
    #[cfg(target_os = "linux")]
    saved: Option<std::os::fd::OwnedFd>,
}

impl MutedStderr {
    pub fn mute() -> MutedStderr {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsFd;
            if std::env::var_os("CONVOY_DEBUG").is_some() {
                return MutedStderr { saved: None };
            }
            let saved = rustix::io::dup(std::io::stderr().as_fd()).ok();
            let null = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")
                .ok();
            if let (Some(_), Some(null)) = (&saved, null)
                && rustix::stdio::dup2_stderr(&null).is_ok()
            {
                return MutedStderr { saved };
            }
            MutedStderr { saved: None }
        }
        #[cfg(not(target_os = "linux"))]
        MutedStderr {}
    }
}

impl Drop for MutedStderr {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(saved) = self.saved.take() {
            let _ = rustix::stdio::dup2_stderr(&saved);
        }
    }
}
