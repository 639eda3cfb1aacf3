//! Case workflow vocabulary: report modes, the ISO 37002 statuses and which may follow which,
//! outcomes and item kinds. Only metadata the workflow needs lives here; everything a
//! reporter wrote is an encrypted item elsewhere. Deadlines are in `deadlines`.

string_enum!(
    /// Anonymous: no identity item exists. Confidential: an encrypted identity item exists,
    /// readable only by those holding the case key.
    ReportMode { Anonymous => "anonymous", Confidential => "confidential" }
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

    /// The acknowledgement message may be sent while nothing has been acknowledged yet.
    pub fn may_acknowledge(self) -> bool {
        self == CaseStatus::Received
    }
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
    fn acknowledging_is_possible_from_the_first_status_only() {
        assert!(CaseStatus::Received.may_acknowledge());
        assert!(!CaseStatus::Closed.may_acknowledge());
    }
}
