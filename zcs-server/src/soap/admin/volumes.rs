//! Admin requests about the store's volumes, HSM and blob consistency.
//!
//! LIMITATION: none of them is answered yet.

use zcs_core::ServiceResult;

use super::super::context::Ctx;
use super::super::element::Element;

/// Routes the requests of this module; `None` when `name` is not one of them.
pub(crate) async fn dispatch(
    _ctx: &mut Ctx<'_>,
    _name: &str,
    _req: &Element,
) -> Option<ServiceResult<Element>> {
    None
}
