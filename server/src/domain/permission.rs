//! Who may do what: every role boundary of the workspace as one [`Permission`] checked in one
//! place, and the rule for opening a case (excluded never; granted with a case role; the
//! triage group sees every case it is not excluded from).

use super::holder::AccessKind;
use super::officer::{Role, Roles};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// The case list, case pages, messages, notes, status changes, reveals, downloads.
    WorkOnCases,
    /// Enter a report on a reporter's behalf (a call, a meeting, a letter).
    EnterReports,
    /// Grant a colleague a case, revoke a grant, exclude a colleague.
    ManageCaseAccess,
    /// Create, disable, enable and reset accounts, change roles.
    ManageAccounts,
    /// The site settings (organisation name, notices, categories, escrow, retention).
    ChangeSettings,
    /// The audit log and its statistics.
    ReadAudit,
}

impl Permission {
    /// The roles that carry this permission.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Permission::WorkOnCases => &[Role::Officer, Role::Investigator],
            Permission::ManageCaseAccess | Permission::EnterReports => &[Role::Officer],
            Permission::ManageAccounts | Permission::ChangeSettings => &[Role::Admin],
            Permission::ReadAudit => &[Role::Auditor],
        }
    }

    pub fn granted_to(self, roles: &Roles) -> bool {
        self.roles().iter().any(|r| roles.has(*r))
    }
}

/// Whether someone with `roles` and this access row for a case (if any) may open it. The
/// store must also hold an envelope sealed to their current key, or there is nothing to open.
pub fn may_open_case(roles: &Roles, mine: Option<AccessKind>) -> bool {
    match mine {
        Some(AccessKind::Exclusion) => false,
        Some(AccessKind::Grant) => Permission::WorkOnCases.granted_to(roles),
        None => roles.has(Role::Officer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_carry_their_permissions_only() {
        let officer = Roles::new(&[Role::Officer]);
        let investigator = Roles::new(&[Role::Investigator]);
        let admin = Roles::new(&[Role::Admin]);
        assert!(Permission::WorkOnCases.granted_to(&investigator));
        assert!(!Permission::ManageCaseAccess.granted_to(&investigator));
        assert!(Permission::ManageCaseAccess.granted_to(&officer));
        assert!(Permission::EnterReports.granted_to(&officer));
        assert!(!Permission::EnterReports.granted_to(&investigator));
        assert!(!Permission::WorkOnCases.granted_to(&admin));
        assert!(Permission::ManageAccounts.granted_to(&admin));
        assert!(!Permission::ReadAudit.granted_to(&admin));
        assert!(may_open_case(&officer, None));
        assert!(!may_open_case(&investigator, None));
        assert!(may_open_case(&investigator, Some(AccessKind::Grant)));
        assert!(!may_open_case(&officer, Some(AccessKind::Exclusion)));
        assert!(!may_open_case(&admin, Some(AccessKind::Grant)));
    }
}
