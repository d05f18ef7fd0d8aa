//! urn:zimbraMail messages.

use zcs_core::ServiceResult;

use super::context::Ctx;
use super::element::Element;

/// Routes the message requests; `None` for other names.
pub(crate) async fn dispatch(
    _ctx: &mut Ctx<'_>,
    _name: &str,
    _req: &Element,
) -> Option<ServiceResult<Element>> {
    None
}
