//! Admin requests on distribution lists and dynamic groups (CreateDistributionList,
//! AddDistributionListMember, GetDistributionList and the rest).

use zcs_core::ServiceResult;

use super::super::context::Ctx;
use super::super::element::Element;

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    _ctx: &mut Ctx<'_>,
    _name: &str,
    _req: &Element,
) -> Option<ServiceResult<Element>> {
    // LIMITATION: none of this module's requests is served yet.
    None
}
