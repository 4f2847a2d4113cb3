//! The dense N-d array the N-d paths work on, its index arithmetic, the boundary extension
//! ([`pad`]) and the row-parallel helper the FFT path shares.

use super::Extend;

/// A dense N-d array of f64 in C order.
#[derive(Clone, Debug, PartialEq)]
pub struct Nd {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Nd {
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> Nd {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Nd { shape, data }
    }

    pub fn zeros(shape: &[usize]) -> Nd {
        Nd {
            shape: shape.to_vec(),
            data: crate::rt::big_zeroed(shape.iter().product()),
        }
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Strides (in elements) of each axis.
    pub fn strides(&self) -> Vec<usize> {
        strides(&self.shape)
    }

    /// The array reversed along every axis (a kernel turned into its correlation partner).
    pub fn flipped(&self) -> Nd {
        let mut data = self.data.clone();
        data.reverse();
        Nd {
            shape: self.shape.clone(),
            data,
        }
    }

    /// `shape[0]xshape[1]...` for messages.
    pub fn shape_text(&self) -> String {
        self.shape
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("x")
    }

    /// The sub-array starting at `start` with shape `shape`.
    pub fn window(&self, start: &[usize], shape: &[usize]) -> Nd {
        let mut out = Nd::zeros(shape);
        if out.is_empty() {
            return out;
        }
        let st = self.strides();
        let last = shape.len() - 1;
        let row = shape[last];
        let mut idx = vec![0usize; shape.len()];
        let mut o = 0;
        loop {
            let base: usize = (0..shape.len()).map(|a| (start[a] + idx[a]) * st[a]).sum();
            out.data[o..o + row].copy_from_slice(&self.data[base..base + row]);
            o += row;
            if !advance(&mut idx[..last], &shape[..last]) {
                break;
            }
        }
        out
    }
}

pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * shape[a + 1];
    }
    s
}

/// Odometer step over `shape`; false when it wraps around (done).
pub(crate) fn advance(idx: &mut [usize], shape: &[usize]) -> bool {
    for a in (0..idx.len()).rev() {
        idx[a] += 1;
        if idx[a] < shape[a] {
            return true;
        }
        idx[a] = 0;
    }
    false
}

/// `x` extended by `before[a]` / `after[a]` elements on each axis under `pad`.
pub fn pad(x: &Nd, before: &[usize], after: &[usize], pad: Extend) -> Nd {
    let shape: Vec<usize> = (0..x.ndim())
        .map(|a| x.shape[a] + before[a] + after[a])
        .collect();
    let fill = pad.constant().unwrap_or(0.0);
    let mut out = Nd {
        data: vec![fill; shape.iter().product()],
        shape,
    };
    if out.is_empty() || x.is_empty() {
        return out;
    }
    let xs = x.strides();
    let nd = x.ndim();
    let last = nd - 1;
    // Per axis, the source index of every output index.
    let maps: Vec<Vec<Option<usize>>> = (0..nd)
        .map(|a| {
            (0..out.shape[a])
                .map(|i| pad.source_index(i as isize - before[a] as isize, x.shape[a]))
                .collect()
        })
        .collect();
    let mut idx = vec![0usize; nd];
    let row = out.shape[last];
    let mut o = 0;
    loop {
        let outer: Option<usize> = (0..last).map(|a| maps[a][idx[a]].map(|s| s * xs[a])).sum();
        if let Some(base) = outer {
            let src = &x.data[base..base + x.shape[last]];
            // The middle of the row is a straight copy.
            let (b, n) = (before[last], x.shape[last]);
            out.data[o + b..o + b + n].copy_from_slice(src);
            for (i, m) in maps[last].iter().enumerate() {
                if (b..b + n).contains(&i) {
                    continue;
                }
                if let Some(s) = m {
                    out.data[o + i] = src[*s];
                }
            }
        }
        o += row;
        if !advance(&mut idx[..last], &out.shape[..last]) {
            break;
        }
    }
    out
}

/// Runs `f(row index, row)` on every `row_len`-long row of `data`, the rows shared among the
/// cores when there is enough of them (each row is independent). The buffer is written here
/// first, so its pages are faulted in by this thread: page faults taken by several threads of
/// one process at once cost TLB-shootdown interrupts, which are slow in VMs.
pub(crate) fn par_rows<T: Send + Copy + Default>(
    data: &mut [T],
    row_len: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let row_len = row_len.max(1);
    let rows = data.len() / row_len;
    let threads = if data.len() < 1 << 16 {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(8)
    };
    if threads <= 1 {
        for (i, r) in data.chunks_mut(row_len).enumerate() {
            f(i, r);
        }
        return;
    }
    data.fill(T::default());
    let per = rows.div_ceil(threads);
    std::thread::scope(|scope| {
        for (t, chunk) in data.chunks_mut(per * row_len).enumerate() {
            let f = &f;
            scope.spawn(move || {
                for (i, r) in chunk.chunks_mut(row_len).enumerate() {
                    f(t * per + i, r);
                }
            });
        }
    });
}
