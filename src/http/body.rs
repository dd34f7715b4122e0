//! Reads a request body into memory within three bounds: its size
//! (--max-body-bytes), its pace (--min-body-rate over every 5 s), and
//! the bytes all bodies being read may hold at once
//! (--max-buffered-body-bytes). 200 clients trickling bodies a byte at a time
//! then cost a few kilobytes each, for a few seconds each.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::error::AppError;

/// The stretch of time over which a body's pace is judged.
pub const WINDOW: Duration = Duration::from_secs(5);
/// How long a body waits for room in the shared budget before 503.
const BUDGET_WAIT: Duration = Duration::from_secs(2);

/// The bounds, shared by every request.
pub struct BodyLimits {
    pub max_bytes: usize,
    /// Bytes per second, over every WINDOW.
    pub min_rate: u64,
    /// Bytes of every body being held; permits are bytes.
    pub budget: Arc<Semaphore>,
    pub budget_bytes: usize,
}

/// A body in memory, with its share of the budget (released on drop).
pub struct ReadBody {
    pub bytes: Bytes,
    _budget: Option<OwnedSemaphorePermit>,
}

/// Why a body was not read.
pub enum BodyError {
    /// Status and error to answer with; `retry_after` in seconds for 503.
    Refused {
        status: StatusCode,
        error: AppError,
        retry_after: Option<u64>,
    },
    /// The client went away.
    Aborted,
}

impl BodyLimits {
    pub fn new(max_bytes: usize, min_rate: u64, budget_bytes: usize) -> Self {
        // Semaphore permits are capped at usize::MAX >> 3.
        let budget_bytes = budget_bytes.min(Semaphore::MAX_PERMITS);
        Self {
            max_bytes,
            min_rate: min_rate.max(1),
            budget: Arc::new(Semaphore::new(budget_bytes)),
            budget_bytes,
        }
    }

    pub async fn read(&self, headers: &HeaderMap, body: Body) -> Result<ReadBody, BodyError> {
        let started = Instant::now();
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > self.max_bytes) {
            return Err(self.too_large());
        }
        // Room in the budget is taken as bytes arrive, so a slow client
        // holds only what it has sent; one permit, grown by merging, however
        // small the chunks.
        let mut held: Option<OwnedSemaphorePermit> = None;
        let mut buffer = Vec::with_capacity(declared.unwrap_or(0).min(64 * 1024));
        let mut stream = body.into_data_stream();
        // The pace is judged per window: each WINDOW must bring at least
        // min_rate * WINDOW bytes, so a client that sends a burst and then a
        // byte a second is cut off as soon as a window goes by nearly empty
        // (an average since the start would let it hold on for minutes).
        let mut window_end = started + WINDOW;
        let mut window_bytes = 0usize;
        loop {
            let chunk = match tokio::time::timeout_at(window_end, stream.next()).await {
                Err(_) => None,
                Ok(None) => break,
                Ok(Some(Err(_))) => return Err(BodyError::Aborted),
                Ok(Some(Ok(chunk))) => Some(chunk),
            };
            if let Some(chunk) = chunk {
                if buffer.len() + chunk.len() > self.max_bytes {
                    return Err(self.too_large());
                }
                let more = self.reserve(chunk.len()).await?;
                match held.as_mut() {
                    Some(permit) => permit.merge(more),
                    None => held = Some(more),
                }
                buffer.extend_from_slice(&chunk);
                window_bytes += chunk.len();
            }
            if Instant::now() >= window_end {
                if (window_bytes as u64) < self.min_rate.saturating_mul(WINDOW.as_secs()) {
                    return Err(self.too_slow());
                }
                window_end += WINDOW;
                window_bytes = 0;
            }
        }
        Ok(ReadBody {
            bytes: Bytes::from(buffer),
            _budget: held,
        })
    }

    async fn reserve(&self, bytes: usize) -> Result<OwnedSemaphorePermit, BodyError> {
        let bytes = u32::try_from(bytes.min(self.budget_bytes)).unwrap_or(u32::MAX);
        match tokio::time::timeout(BUDGET_WAIT, self.budget.clone().acquire_many_owned(bytes))
            .await
        {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(BodyError::Refused {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error: AppError::ServerBusy(
                    "the server is reading too many request bodies at once (--max-buffered-body-bytes); retry shortly"
                        .into(),
                ),
                retry_after: Some(1),
            }),
        }
    }

    fn too_large(&self) -> BodyError {
        BodyError::Refused {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            error: AppError::LimitExceeded(format!(
                "the request body is larger than {} bytes (--max-body-bytes)",
                self.max_bytes
            )),
            retry_after: None,
        }
    }

    fn too_slow(&self) -> BodyError {
        BodyError::Refused {
            status: StatusCode::REQUEST_TIMEOUT,
            error: AppError::LimitExceeded(format!(
                "the request body arrived slower than {} bytes per second (--min-body-rate)",
                self.min_rate
            )),
            retry_after: None,
        }
    }
}
