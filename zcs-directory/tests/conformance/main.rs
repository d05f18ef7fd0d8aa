//! The `Directory` conformance suite: the same cases against every backend (SQLite,
//! MariaDB, PostgreSQL, OpenLDAP; see `harness`). Cases on the raw `Directory` seam are
//! in `entries`, concurrency in `races` (and the account-limit race in `limits`),
//! searches in `search`, and `Provisioning` flows on top of each backend in `flows`.

mod entries;
mod flows;
mod harness;
#[path = "../ldap_env/mod.rs"]
mod ldap_env;
mod limits;
mod races;
mod search;

use zcs_core::{Attrs, FaultCode, ServiceResult};

/// Attributes from (name, value) pairs, repeated names becoming multiple values.
pub fn attrs(pairs: &[(&str, &str)]) -> Attrs {
    let mut a = Attrs::new();
    for (n, v) in pairs {
        a.add(n, *v);
    }
    a
}

/// The fault code of a failed result.
pub fn code<T: std::fmt::Debug>(r: ServiceResult<T>) -> FaultCode {
    r.expect_err("expected a fault").code
}

/// One `#[tokio::test]` per case and backend, in one module per backend
/// (`sqlite::cos_inheritance`, `ldap::cos_inheritance`, ...): the same case functions
/// on every backend. Cases after `sql_only` exercise the SQL search plans and do not
/// run on LDAP.
macro_rules! conformance {
    (all: [$($module:ident :: $case:ident),* $(,)?],
     sql_only: [$($smodule:ident :: $scase:ident),* $(,)?] $(,)?) => {
        conformance!(@backend sqlite, Sqlite, $($module::$case,)* $($smodule::$scase,)*);
        conformance!(@backend mysql, Mysql, $($module::$case,)* $($smodule::$scase,)*);
        conformance!(@backend postgres, Postgres, $($module::$case,)* $($smodule::$scase,)*);
        conformance!(@backend ldap, Ldap, $($module::$case,)*);
    };
    (@backend $m:ident, $backend:ident, $($module:ident :: $case:ident,)*) => {
        mod $m {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::harness::run_on(
                        crate::harness::Backend::$backend,
                        stringify!($case),
                        crate::$module::$case,
                    )
                    .await;
                }
            )*
        }
    };
}

conformance!(
    all: [
        entries::create_get_modify_rename_delete_every_kind,
        entries::names_compare_case_insensitively_and_keep_spelling,
        entries::names_unique_per_kind_addresses_across_kinds,
        entries::modify_applies_edits_in_order,
        entries::multi_value_edits_read_back_as_applied,
        entries::rename_moves_addresses,
        entries::delete_frees_names_and_ids_are_never_reused,
        entries::aliases_share_the_address_space,
        entries::list_by_kind_and_domain_in_name_order,
        entries::long_values_and_unicode_survive,
        races::two_handles_see_each_other,
        races::racing_creates_of_one_name_yield_one_entry,
        races::racing_creates_of_one_address_across_kinds,
        races::concurrent_modifies_of_one_entry_lose_nothing,
        limits::racing_creates_for_the_last_account_place,
        flows::domains_and_global_config,
        flows::cos_inheritance,
        flows::cos_copy_rename_delete,
        flows::accounts_aliases_and_rename,
        flows::authenticate,
        flows::amavis_attributes,
        flows::domain_status_limits_and_rename,
        search::filter_search_sorts_limits_and_projects,
        search::gal_search_autocomplete_and_hiding,
        search::autocomplete_follows_renames_edits_and_deletes,
    ],
    sql_only: [
        search::dense_and_sparse_prefixes_agree,
    ],
);
