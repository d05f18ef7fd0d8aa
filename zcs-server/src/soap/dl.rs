//! Account-namespace requests on distribution lists a user belongs to or owns
//! (SubscribeDistributionList, GetAccountDistributionLists, GetDistributionList,
//! GetDistributionListMembers, DistributionListAction, CreateDistributionList).

use zcs_core::ServiceResult;

use super::context::Ctx;
use super::element::Element;

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    _ctx: &mut Ctx<'_>,
    _name: &str,
    _req: &Element,
) -> Option<ServiceResult<Element>> {
    // LIMITATION: none of this module's requests is served yet.
    None
}
