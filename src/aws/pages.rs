//! Paginated AWS lists: one loop for every Marker (IAM) and NextToken (Organizations) call.

use std::collections::HashSet;
use std::future::Future;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::error::from_sdk;
use crate::fetch::{ErrorCode, FetchError, Operation};

/// One page of a list: its items, and the marker of the next page when AWS says there is one
/// (IAM `IsTruncated` + `Marker`, Organizations `NextToken`).
pub(super) struct Page<T> {
    pub(super) items: Vec<T>,
    pub(super) next: Option<String>,
}

/// The next page of an IAM list: `IsTruncated` says whether there is one, `Marker` which. A
/// truncated page without a marker gives `Some("")`, which [`all_pages`] refuses.
pub(super) fn iam_next(truncated: bool, marker: Option<&str>) -> Option<String> {
    truncated.then(|| marker.unwrap_or_default().to_owned())
}

/// [`all_pages`] of an SDK list call: `send` sends the request of one page (given its marker),
/// `read` takes the page's items and next marker from the answer; the SDK's errors become
/// [`FetchError`]s of `operation`.
pub(super) async fn sdk_pages<T, O, E, S, Fut, R>(
    operation: Operation,
    mut send: S,
    read: R,
) -> Result<Vec<T>, FetchError>
where
    S: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<O, SdkError<E, HttpResponse>>>,
    R: Fn(O) -> Page<T>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let read = &read;
    all_pages(operation, |marker| {
        let sent = send(marker);
        async move { sent.await.map(read).map_err(|e| from_sdk(operation, &e)) }
    })
    .await
}

/// Every item of a paginated list: asks `page` for the first page (no marker), then for each
/// next one, until a page is the last.
///
/// NB: a page that says there is more but gives an empty marker, or a marker already seen,
/// would ask for the same page again until the refresh's deadline: that is an error (the list
/// is incomplete, so it is unknown), not a loop.
pub(super) async fn all_pages<T, F, Fut>(
    operation: Operation,
    mut page: F,
) -> Result<Vec<T>, FetchError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, FetchError>>,
{
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut marker = None;
    loop {
        let Page { items: more, next } = page(marker.take()).await?;
        items.extend(more);
        match next {
            None => return Ok(items),
            Some(m) if m.is_empty() => {
                return Err(FetchError::new(
                    operation,
                    ErrorCode::Response,
                    format!(
                        "page {} says there is more but gives no marker",
                        seen.len() + 1
                    ),
                ));
            }
            Some(m) if !seen.insert(m.clone()) => {
                return Err(FetchError::new(
                    operation,
                    ErrorCode::Response,
                    format!("page {} gives a marker already seen", seen.len() + 1),
                ));
            }
            Some(m) => marker = Some(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages as AWS might send them: `(items, next marker)` by the marker asked for. Asking
    /// for more pages than there are is a failure of the test, not a hang.
    async fn read(pages: &[(&str, &[u32], Option<&str>)]) -> Result<Vec<u32>, FetchError> {
        let mut asked = 0;
        all_pages(
            Operation::ListVirtualMfaDevices,
            |marker: Option<String>| {
                asked += 1;
                assert!(
                    asked <= pages.len(),
                    "page {asked} of {} asked for",
                    pages.len()
                );
                let marker = marker.unwrap_or_default();
                let page = pages.iter().find(|(m, _, _)| *m == marker).copied();
                async move {
                    let (_, items, next) = page.expect("only markers that were given are asked");
                    Ok(Page {
                        items: items.to_vec(),
                        next: next.map(str::to_owned),
                    })
                }
            },
        )
        .await
    }

    #[tokio::test]
    async fn every_page_is_read_in_order_until_one_names_no_next() {
        let items = read(&[
            ("", &[1, 2], Some("b")),
            ("b", &[3], Some("c")),
            ("c", &[4], None),
        ])
        .await
        .unwrap();
        assert_eq!(items, [1, 2, 3, 4]);
        assert_eq!(read(&[("", &[], None)]).await.unwrap(), Vec::<u32>::new());
    }

    #[tokio::test]
    async fn a_truncated_page_with_an_empty_marker_is_an_error_not_a_loop() {
        // NB: without the guard this asks for the first page forever (until the deadline).
        let e = read(&[("", &[1], Some(""))]).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Response);
        assert_eq!(e.operation, Operation::ListVirtualMfaDevices);
        assert!(e.message.contains("no marker"), "{e}");
    }

    #[tokio::test]
    async fn a_marker_seen_before_is_an_error_not_a_loop() {
        let e = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            read(&[
                ("", &[1], Some("b")),
                ("b", &[2], Some("c")),
                ("c", &[3], Some("b")),
            ]),
        )
        .await
        .expect("the list ends")
        .unwrap_err();
        assert!(e.message.contains("already seen"), "{e}");
    }
}
