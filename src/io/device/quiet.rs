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
