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
    timeline_decision: "판정", "Decision";
    timeline_block: "차단 시작", "Block placed";
    timeline_release: "차단 해제", "Block released";
    kind: "구분", "Kind";
    detail: "내용", "Detail";
    by: "처리자", "By";
    add_note: "메모 남기기", "Add a note";
    note_help: "메모는 암호화되어 저장되고 감사 로그에 기록되며 수정하거나 지울 수 없습니다.", "Notes are stored encrypted, audited, and cannot be edited or deleted.";
    subscriber_page: "가입자 페이지", "Subscriber page";
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
    nav_models: "모델", "Models";
    model_kind: "종류", "Kind";
    model_role: "역할", "Role";
    trained_on: "학습 기간 (UTC)", "Trained on (UTC)";
    metrics: "평가 지표", "Metrics";
    drift: "드리프트", "Drift";
    needs_retraining: "재학습 필요 (시작):", "Needs retraining since";
    models_cli_hint: "모델 학습과 재채점 비교는 fds model train / compare 명령으로 합니다.", "Training and the re-scored comparison are done with fds model train / compare.";
    model_drift: "모델 드리프트 (PSI)", "Model drift (PSI)";
    needs_retraining_count: "재학습 필요 모델:", "Models needing retraining:";
    comparison: "챔피언 / 챌린저 비교", "Champion / challenger";
    champion: "챔피언", "Champion";
    challenger: "챌린저", "Challenger";
    holdout_metrics: "검증 지표 (학습 시)", "Hold-out metrics (at training)";
    shadow_since: "섀도 시작", "In shadow since";
    events_scored: "점수 낸 이벤트", "Events scored";
    mean_score: "평균 점수", "Mean score";
    score_psi: "두 점수 분포 간 PSI", "PSI between the two score distributions";
    score_distribution: "점수 분포 (비율)", "Score distribution (share)";
    promote: "챔피언으로 승격", "Promote to champion";
    promote_confirm: "이 챌린저를 챔피언으로 승격할까요?", "Make this challenger the champion?";
    drift_charts: "일별 드리프트 (입력별 최대 PSI)", "Daily drift (largest PSI over the inputs)";
    new_draft: "새 초안 작성", "New draft";
    draft: "초안", "Draft";
    edit: "편집", "Edit";
    edit_file: "파일 편집", "Edit a file";
    add_file: "파일 추가", "Add a file";
    file_path: "파일 경로", "File path";
    file_body: "내용", "Content";
    remove_file: "이 파일을 팩에서 삭제", "Remove this file from the pack";
    check_syntax: "문법 검사 및 픽스처 실행", "Check syntax and run the fixtures";
    save_draft: "초안 저장", "Save the draft";
    check_ok: "검사 통과.", "Check passed.";
    check_failed: "검사 실패.", "Check failed.";
    rules_compiled: "컴파일된 규칙:", "rules compiled:";
    fixtures_passed: "통과한 픽스처:", "fixture cases passed:";
    fixtures_failed: "실패한 픽스처:", "fixture cases failed:";
    fixture_case: "픽스처 사례", "Fixture case";
    passed: "통과", "Passed";
    failed: "실패", "Failed";
    editor_help: "규칙, 픽스처(.test.toml), 목록(lists/*.txt) 파일을 편집합니다. 검사는 운영 팩 전체에 이 파일을 적용해 컴파일하고 모든 픽스처를 실행하며, 아무것도 저장하지 않습니다.", "Edit a rule, a fixture (.test.toml) or a list (lists/*.txt). The check compiles the whole live pack with this file applied and runs every fixture; it saves nothing.";
    no_pack_yet: "저장소에 규칙 팩이 아직 없습니다 (fds rules import 로 시작하세요).", "The store holds no rule pack yet (seed it with fds rules import).";
    state_draft: "작성 중", "Draft";
    state_published: "배포됨", "Published";
    state_withdrawn: "철회됨", "Withdrawn";
    closed: "종료", "Closed";
    changed_files: "변경된 파일", "Changed files";
    removed: "삭제됨", "Removed";
    shadow_start: "섀도 실행 시작", "Run in shadow";
    shadow_stop: "섀도 실행 중지", "Stop the shadow run";
    shadow_evaluated: "섀도로 평가한 이벤트:", "Events evaluated in shadow:";
    shadow_changed: "바뀌었을 판정:", "Decisions it would have changed:";
    overlap: "운영 검토·차단과 겹침", "Overlap with live review / block";
    backtest: "백테스트", "Backtest";
    run_backtest: "백테스트 실행", "Run the backtest";
    publish: "배포", "Publish";
    publish_confirm: "이 초안을 운영 규칙으로 배포할까요?", "Publish this draft as the live rules?";
    publish_not_own: "본인이 작성한 초안은 배포할 수 없습니다. 다른 배포 담당자가 배포해야 합니다 (4-eyes 원칙).", "You wrote this draft, so you cannot publish it: another publisher must (four eyes).";
    publish_check_fails: "검사를 통과하지 못한 초안은 배포할 수 없습니다.", "A draft that fails its check cannot be published.";
    publish_by_other: "초안은 작성자가 아닌 배포 담당자가 배포합니다.", "A publisher other than the author publishes the draft.";
    published_as: "배포되었습니다:", "Published as";
    withdraw: "초안 철회", "Withdraw the draft";
    back_to_rules: "규칙 목록으로", "Back to the rules";
    bt_running: "실행 중", "Running";
    bt_done: "완료", "Done";
    bt_cancelled: "취소됨", "Cancelled";
    bt_failed: "실패 (오류가 기록되었습니다)", "Failed (the error was logged)";
    events_count: "평가한 이벤트:", "Events scored:";
    warm_up: "준비 이벤트:", "Warm-up events:";
    reached: "도달 시각:", "Reached:";
    decisions_changed: "바뀌는 판정", "Decisions changed";
    newly_blocked: "새로 차단되는 가입자", "Subscribers newly blocked";
    no_longer_blocked: "차단이 풀리는 가입자", "Subscribers no longer blocked";
    speed: "처리 속도 (이벤트/초)", "Speed (events/s)";
    live_pack: "운영 팩", "Live pack";
    on_outcomes: "확정된 결과 기준", "On confirmed outcomes";
    fraud_caught: "탐지한 사기", "Fraud caught";
    false_positives: "오탐", "False positives";
    lists: "목록 파일", "Lists";
    suppressions: "규칙 억제", "Suppressions";
    add_suppression: "억제 추가", "Add a suppression";
    entity_kind: "대상 종류", "Entity kind";
    days: "기간 (일)", "Days";
    lift: "억제 해제", "Lift";
    lifted: "해제됨", "Lifted";
    in_force: "적용 중", "In force";
    pending_releases: "승인 대기 중인 해제", "Releases waiting for a second analyst";
    requested_by: "요청자", "Requested by";
    waiting_second: "다른 분석가의 승인 대기 중", "Waiting for another analyst";
    approve_release: "해제 승인", "Approve the release";
    reject_release: "해제 거절", "Reject";
    request_release: "해제 요청 (2인 승인)", "Request the release (two people)";
    release_requested: "고위험 차단이라 다른 분석가의 승인이 필요합니다. 해제 요청 번호:", "A high-severity block: another analyst must approve the release. Request";
    high_severity: "고위험", "High severity";
    allow_for_days: "허용 기간 (일)", "Allow for (days)";
    nav_api_keys: "API 키", "API keys";
    nav_settings: "설정", "Settings";
    api_key_once: "새 API 키입니다. 이 화면에서 한 번만 표시되니 지금 복사하세요:", "The new API key, shown on this page only once — copy it now:";
    key_id: "키 식별자", "Key id";
    scopes: "권한 범위", "Scopes";
    revoked: "폐기됨", "Revoked";
    revoke: "폐기", "Revoke";
    create_api_key: "API 키 발급", "Make an API key";
    api_keys_help: "범위: score (POST /v1/score), blocks (GET /v1/blocks), labels (POST /v1/labels), backtests (/v1/backtests). 키는 해시로만 저장됩니다. 설정 파일의 api.keys 는 모든 범위를 가지며 여기에 나오지 않습니다.", "Scopes: score (POST /v1/score), blocks (GET /v1/blocks), labels (POST /v1/labels), backtests (/v1/backtests). Keys are stored as hashes only. The configured api.keys hold every scope and are not listed here.";
    settings_help: "이 프로세스의 실제 설정입니다 (읽기 전용, 비밀 값은 숨김). 변경은 설정 파일이나 FDS__ 환경 변수로 하며 다음 시작 때 적용됩니다.", "This process's effective configuration (read only, secrets hidden). Change it in the configuration file or the FDS__ environment variables; it applies at the next start.";
    setting: "설정 항목", "Setting";
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
