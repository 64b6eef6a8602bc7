//! What each console role may do. Every console route declares one [`Access`]
//! (see `routes.rs`); a user reaches a route only when one of their roles grants its
//! permission. Deny by default: a role grants only what is listed here.

use fds_store::Role;

/// A thing a console user may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Permission {
    /// Change one's own preferences (language) and sessions (log out everywhere).
    OwnAccount,
    ViewDashboard,
    /// The live rules with their hits, the drafts and the published versions; the
    /// model registry with metrics and drift.
    ViewRules,
    /// The review queue and case pages (PII masked).
    ViewCases,
    /// Confirm fraud, mark a false positive, escalate.
    ActOnCases,
    ViewBlocks,
    ReleaseBlocks,
    /// Show a subscriber number unmasked (audited).
    RevealPii,
    ViewAudit,
    ManageUsers,
    /// Write drafts of the rule pack (rules, fixtures, lists), run them in shadow,
    /// backtest them, withdraw one's own.
    EditRules,
    /// Publish another person's draft (the store refuses one's own).
    PublishRules,
    /// Silence a rule for one entity for a while, and lift it.
    Suppress,
    /// Make a challenger model its kind's champion.
    PromoteModels,
    /// Make and revoke API keys; read the effective settings.
    ManageApiKeys,
}

#[cfg(test)]
impl Permission {
    pub(crate) const ALL: [Permission; 15] = [
        Permission::OwnAccount,
        Permission::ViewDashboard,
        Permission::ViewRules,
        Permission::ViewCases,
        Permission::ActOnCases,
        Permission::ViewBlocks,
        Permission::ReleaseBlocks,
        Permission::RevealPii,
        Permission::ViewAudit,
        Permission::ManageUsers,
        Permission::EditRules,
        Permission::PublishRules,
        Permission::Suppress,
        Permission::PromoteModels,
        Permission::ManageApiKeys,
    ];
}

/// Who may reach a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone, before logging in: the login form and the static assets only.
    Public,
    /// A session whose password passed and that must finish the second factor.
    SecondFactor,
    /// A fully logged-in user holding this permission.
    Needs(Permission),
}

/// The permissions `role` grants.
pub(crate) fn granted(role: Role) -> &'static [Permission] {
    use Permission::*;
    match role {
        Role::Viewer => &[OwnAccount, ViewDashboard, ViewRules, ViewCases, ViewBlocks],
        Role::Analyst => &[
            OwnAccount,
            ViewDashboard,
            ViewRules,
            ViewCases,
            ActOnCases,
            ViewBlocks,
            ReleaseBlocks,
            RevealPii,
            Suppress,
        ],
        Role::RuleBuilder => &[OwnAccount, ViewDashboard, ViewRules, EditRules, Suppress],
        Role::Publisher => &[OwnAccount, ViewDashboard, ViewRules, PublishRules, PromoteModels],
        Role::Admin => &[OwnAccount, ViewDashboard, ViewRules, ManageUsers, ViewAudit, ManageApiKeys],
        Role::Auditor => &[OwnAccount, ViewDashboard, ViewRules, ViewCases, ViewBlocks, ViewAudit],
    }
}

/// Whether any of `roles` grants `permission`.
pub(crate) fn allows<'a>(roles: impl IntoIterator<Item = &'a Role>, permission: Permission) -> bool {
    roles.into_iter().any(|role| granted(*role).contains(&permission))
}

/// Whether an account with `roles` must use a second factor (TOTP).
pub(crate) fn needs_totp<'a>(roles: impl IntoIterator<Item = &'a Role>) -> bool {
    roles.into_iter().any(|r| matches!(r, Role::Admin | Role::Publisher))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_reads_but_never_acts_and_an_auditor_reads_the_audit_log_read_only() {
        let viewer = [Role::Viewer];
        assert!(allows(&viewer, Permission::ViewCases));
        for act in [
            Permission::ActOnCases,
            Permission::ReleaseBlocks,
            Permission::RevealPii,
            Permission::ManageUsers,
        ] {
            assert!(!allows(&viewer, act), "{act:?}");
        }
        let auditor = [Role::Auditor];
        assert!(allows(&auditor, Permission::ViewAudit));
        assert!(!allows(&auditor, Permission::ActOnCases) && !allows(&auditor, Permission::ReleaseBlocks));
    }

    #[test]
    fn only_analysts_act_on_cases_and_reveal_pii() {
        for role in Role::ALL {
            let acts = allows(&[role], Permission::ActOnCases);
            assert_eq!(acts, role == Role::Analyst, "{role:?}");
            assert_eq!(allows(&[role], Permission::RevealPii), role == Role::Analyst, "{role:?}");
        }
    }

    #[test]
    fn builders_write_drafts_and_only_publishers_publish() {
        for role in Role::ALL {
            assert_eq!(allows(&[role], Permission::EditRules), role == Role::RuleBuilder, "{role:?}");
            assert_eq!(allows(&[role], Permission::PublishRules), role == Role::Publisher, "{role:?}");
            assert_eq!(allows(&[role], Permission::PromoteModels), role == Role::Publisher, "{role:?}");
        }
    }

    #[test]
    fn admins_and_publishers_need_a_second_factor() {
        assert!(needs_totp(&[Role::Viewer, Role::Admin]));
        assert!(needs_totp(&[Role::Publisher]));
        assert!(!needs_totp(&[Role::Analyst, Role::Auditor, Role::RuleBuilder, Role::Viewer]));
    }

    #[test]
    fn every_permission_is_granted_to_some_role() {
        for permission in Permission::ALL {
            assert!(Role::ALL.iter().any(|r| granted(*r).contains(&permission)), "{permission:?}");
        }
    }
}
