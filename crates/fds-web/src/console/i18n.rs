//! Every console label in Korean and English. One macro line per label holds both
//! languages, so a label cannot exist in one language only; templates read them as
//! `tr.<name>` from the [`Tr`] of the user's language (Korean by default).

use fds_store::Language;

macro_rules! labels {
    ($($name:ident: $ko:literal, $en:literal;)*) => {
        /// The labels of one language.
        pub(crate) struct Tr {
            $(pub(crate) $name: &'static str,)*
        }

        pub(crate) static KO: Tr = Tr { $($name: $ko,)* };
        pub(crate) static EN: Tr = Tr { $($name: $en,)* };

        #[cfg(test)]
        pub(crate) fn all(tr: &Tr) -> Vec<(&'static str, &'static str)> {
            vec![$((stringify!($name), tr.$name),)*]
        }
    };
}

labels! {
    lang_code: "ko", "en";
    app_name: "FDS 이상거래 탐지", "FDS fraud detection";
    switch_language: "English", "한국어";
    login_title: "로그인", "Log in";
    login_name: "아이디", "Login";
    password: "비밀번호", "Password";
    log_in: "로그인", "Log in";
    log_out: "로그아웃", "Log out";
    log_out_everywhere: "모든 기기에서 로그아웃", "Log out everywhere";
    login_failed: "아이디 또는 비밀번호가 올바르지 않습니다.", "The login or password is not correct.";
    login_locked: "로그인 시도가 너무 많아 계정이 잠겼습니다. 잠시 후 다시 시도하세요.", "Too many failed attempts: the account is locked. Try again later.";
    session_expired: "세션이 만료되었습니다. 다시 로그인하세요.", "Your session has ended. Please log in again.";
    totp_title: "2단계 인증", "Second factor";
    totp_code: "인증 코드 (6자리)", "Code (6 digits)";
    totp_failed: "인증 코드가 올바르지 않습니다.", "The code is not correct.";
    verify: "확인", "Verify";
    enrol_title: "2단계 인증 등록", "Set up the second factor";
    enrol_help: "인증 앱에 아래 URI 또는 비밀 키를 등록한 뒤 표시된 코드를 입력하세요.", "Add the URI or the secret below to your authenticator app, then enter the code it shows.";
    enrol_secret: "비밀 키", "Secret";
    nav_dashboard: "대시보드", "Dashboard";
    nav_queue: "검토 대기열", "Review queue";
    nav_blocks: "차단", "Blocks";
    nav_audit: "감사 로그", "Audit log";
    signed_in_as: "로그인 사용자", "Signed in as";
    window: "기간", "Window";
    last_24h: "최근 24시간", "Last 24 h";
    last_7d: "최근 7일", "Last 7 days";
    last_30d: "최근 30일", "Last 30 days";
    events_per_minute: "분당 이벤트", "Events per minute";
    decisions: "판정", "Decisions";
    allow: "허용", "Allow";
    review: "검토", "Review";
    block: "차단", "Block";
    block_rate: "차단율", "Block rate";
    queue_size: "검토 대기 건수", "Waiting for review";
    amount_prevented: "차단 금액 (원)", "Amount blocked (KRW)";
    top_rules: "적중 상위 규칙", "Top rules by hits";
    rule: "규칙", "Rule";
    hits: "적중", "Hits";
    by_family: "유형별", "By family";
    family: "유형", "Family";
    series: "시간대별 판정", "Decisions over time";
    nothing_yet: "데이터가 없습니다.", "Nothing yet.";
    occurred_at: "발생 시각 (UTC)", "Occurred (UTC)";
    subscriber: "가입자", "Subscriber";
    event_type: "이벤트 유형", "Event type";
    action: "조치", "Action";
    score: "점수", "Score";
    reasons: "사유", "Reasons";
    escalated: "상위 보고됨", "Escalated";
    open_case: "열기", "Open";
    case_title: "사건", "Case";
    event: "이벤트", "Event";
    field: "항목", "Field";
    value: "값", "Value";
    rule_hit: "규칙 적중", "Rule hit";
    model_reason: "모델 기여", "Model contribution";
    timeline: "가입자 이력", "Subscriber timeline";
    confirm_fraud: "사기 확정", "Confirm fraud";
    false_positive: "오탐 (정상)", "False positive";
    escalate: "상위 보고", "Escalate";
    reason_required: "사유", "Reason";
    outcome_recorded: "결과가 기록되었습니다.", "The outcome was recorded.";
    labelled: "라벨", "Label";
    reveal: "번호 보기", "Show number";
    status: "상태", "Status";
    status_all: "전체", "All";
    status_active: "차단 중", "Active";
    status_released: "해제됨", "Released";
    status_expired: "만료", "Expired";
    from_date: "시작일", "From";
    to_date: "종료일", "To";
    search: "검색", "Search";
    scope: "범위", "Scope";
    since: "시작", "Since";
    until: "종료", "Until";
    release: "해제", "Release";
    release_reason: "해제 사유", "Release reason";
    released_by: "해제자", "Released by";
    reason_customer_verified: "고객 본인 확인", "Customer verified";
    reason_false_positive: "오탐", "False positive";
    reason_duplicate: "중복 차단", "Duplicate block";
    reason_other: "기타", "Other";
    audit_verify: "해시 체인 검증", "Verify the hash chain";
    audit_ok: "해시 체인이 온전합니다. 검증한 기록 수:", "The hash chain is intact. Records verified:";
    audit_broken: "해시 체인이 손상되었습니다:", "The hash chain is broken:";
    seq: "번호", "Seq";
    at: "시각 (UTC)", "At (UTC)";
    actor: "수행자", "Actor";
    target: "대상", "Target";
    filter: "필터", "Filter";
    older: "이전 기록", "Older";
    denied_title: "권한 없음", "Not allowed";
    denied_text: "이 작업을 할 권한이 없습니다.", "You are not allowed to do this.";
    not_found_title: "찾을 수 없음", "Not found";
    bad_request_title: "잘못된 요청", "Bad request";
    error_title: "오류", "Error";
    error_text: "요청을 처리하지 못했습니다. 오류가 기록되었습니다.", "The request failed. The error was logged.";
    back: "돌아가기", "Back";
    nav_users: "사용자 관리", "Users";
    create_user: "사용자 추가", "Add a user";
    display_name: "이름", "Name";
    roles: "역할", "Roles";
    language: "언어", "Language";
    state: "상태", "State";
    state_active: "활성", "Active";
    state_locked: "잠김", "Locked";
    state_disabled: "비활성", "Disabled";
    totp_enabled: "2단계 인증 사용", "Second factor on";
    save_roles: "역할 저장", "Save roles";
    disable: "비활성화", "Disable";
    enable: "활성화", "Enable";
    unlock: "잠금 해제", "Unlock";
    reset_totp: "2단계 인증 초기화", "Reset second factor";
    reset_password: "비밀번호 재설정", "Reset password";
    new_password_once: "새 비밀번호입니다. 이 화면에서 한 번만 표시됩니다:", "The new password, shown on this page only once:";
    user_saved: "저장되었습니다.", "Saved.";
    nav_subscriber: "가입자 조회", "Subscriber";
    subscriber_number: "가입자 번호", "Subscriber number";
    active_blocks: "현재 차단", "Blocks in force";
    days_back: "기간 (일)", "Days back";
    min_score: "최소 점수", "Minimum score";
    bulk_ticked: "선택한 사건:", "Ticked cases:";
    nav_rules: "규칙", "Rules";
    live_version: "운영 중인 버전", "Live version";
    drafts: "초안", "Drafts";
    title: "제목", "Title";
    author: "작성자", "Author";
    base_version: "기준 버전", "Base version";
    files: "파일 수", "Files";
    shadow: "섀도", "Shadow";
    shadow_on: "섀도 실행 중", "Running in shadow";
    updated: "수정 시각 (UTC)", "Updated (UTC)";
    versions: "배포된 버전", "Published versions";
    version: "버전", "Version";
    published_by: "배포자", "Published by";
    note: "메모", "Note";
    rules_cli_hint: "규칙 편집, 백테스트, 배포는 아직 fds rules 명령으로 합니다.", "Editing, backtests and publishing are done with fds rules for now.";
    nav_models: "모델", "Models";
    model_kind: "종류", "Kind";
    model_role: "역할", "Role";
    trained_on: "학습 기간 (UTC)", "Trained on (UTC)";
    metrics: "평가 지표", "Metrics";
    drift: "드리프트", "Drift";
    needs_retraining: "재학습 필요 (시작):", "Needs retraining since";
    models_cli_hint: "모델 학습, 비교, 승격은 아직 fds model 명령으로 합니다.", "Training, comparing and promoting models are done with fds model for now.";
    export_csv: "CSV 내보내기", "Export CSV";
    showing_newest: "최신 순으로 최대 표시 건수:", "Newest first, at most:";
}

/// The labels of `language`.
pub(crate) fn tr(language: Language) -> &'static Tr {
    match language {
        Language::Ko => &KO,
        Language::En => &EN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_has_text_in_both_languages() {
        for (name, text) in all(&KO).into_iter().chain(all(&EN)) {
            assert!(!text.trim().is_empty(), "{name}");
        }
    }

    #[test]
    fn korean_labels_are_written_in_korean() {
        // Words that stay the same in both (codes, names) are the exceptions.
        let same: Vec<&str> = all(&KO)
            .into_iter()
            .zip(all(&EN))
            .filter(|((_, ko), (_, en))| ko == en)
            .map(|((name, _), _)| name)
            .collect();
        assert!(same.is_empty(), "labels not translated: {same:?}");
    }
}
