//! Case workflow vocabulary: report modes, channels, the ISO 37002 statuses and which may follow which,
//! outcomes and item kinds. Only metadata the workflow needs lives here; everything a
//! reporter wrote is an encrypted item elsewhere. Deadlines are in `deadlines`. Keeps the
//! rule that an acknowledgement is possible from any open status until one was sent.

string_enum!(
    /// Anonymous: no identity item exists. Confidential: an encrypted identity item exists,
    /// readable only by those holding the case key.
    ReportMode { Anonymous => "anonymous", Confidential => "confidential" }
);

string_enum!(
    /// How a report reached the platform: filed by the reporter on the web (either road), or
    /// entered by a compliance officer on the reporter's behalf after a call, a meeting or a
    /// letter (Directive 2019/1937 art. 9(2)). Counted in the yearly figures.
    Channel { Web => "web", OfficerEntered => "officer_entered" }
);

string_enum!(
    /// ISO 37002 stages.
    CaseStatus {
        Received => "received",
        Acknowledged => "acknowledged",
        Investigating => "investigating",
        Concluded => "concluded",
        Closed => "closed",
    }
);

string_enum!(
    /// How a concluded case ended (ISO 37002 follow-up).
    Outcome {
        Substantiated => "substantiated",
        PartlySubstantiated => "partly_substantiated",
        Unsubstantiated => "unsubstantiated",
        NotAdmissible => "not_admissible",
        OutOfScope => "out_of_scope",
    }
);

impl CaseStatus {
    /// Where a case may go from here through the status form. `acknowledged` is reached
    /// only by sending the acknowledgement message; concluded and closed cases can be
    /// reopened for investigation when new facts arrive.
    pub fn next(self) -> &'static [CaseStatus] {
        use CaseStatus::*;
        match self {
            Received => &[Investigating, Concluded],
            Acknowledged => &[Investigating, Concluded],
            Investigating => &[Concluded],
            Concluded => &[Closed, Investigating],
            Closed => &[Investigating],
        }
    }

    /// Whether the case is still open (a closed case's deadlines are moot).
    pub fn is_open(self) -> bool {
        self != CaseStatus::Closed
    }
}

/// The acknowledgement may be sent from any open status while none was sent: a case moved on
/// (to investigating, even concluded) before anyone acknowledged it still owes the reporter
/// one, and its deadline stays overdue until it is sent. The first message to the reporter
/// counts as the acknowledgement under the same rule.
pub fn may_acknowledge(status: CaseStatus, acknowledged_on: Option<time::Date>) -> bool {
    status.is_open() && acknowledged_on.is_none()
}

/// The status an acknowledgement moves the case to: `acknowledged` from `received`; a case
/// already further along keeps its status (the acknowledgement only sets its date).
pub fn status_after_acknowledgement(status: CaseStatus) -> Option<CaseStatus> {
    (status == CaseStatus::Received).then_some(CaseStatus::Acknowledged)
}

string_enum!(
    ItemKind {
        Report => "report",
        Identity => "identity",
        Message => "message",
        Attachment => "attachment",
        Note => "note",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip() {
        for s in CaseStatus::ALL {
            assert_eq!(s.as_str().parse::<CaseStatus>().unwrap(), *s);
        }
        assert!("nope".parse::<ItemKind>().is_err());
    }

    #[test]
    fn acknowledging_is_possible_from_any_open_status_until_done() {
        let day = time::macros::date!(2026 - 11 - 28);
        for s in [
            CaseStatus::Received,
            CaseStatus::Investigating,
            CaseStatus::Concluded,
        ] {
            assert!(may_acknowledge(s, None), "{s}");
            assert!(!may_acknowledge(s, Some(day)), "{s}");
        }
        assert!(!may_acknowledge(CaseStatus::Closed, None));
        assert_eq!(
            status_after_acknowledgement(CaseStatus::Received),
            Some(CaseStatus::Acknowledged)
        );
        assert_eq!(
            status_after_acknowledgement(CaseStatus::Investigating),
            None
        );
    }
}
