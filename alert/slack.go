package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// slackSink posts one Slack message per alert to an incoming webhook: Block
// Kit blocks for Slack, and a complete text fallback for the compatible
// services (Mattermost, Rocket.Chat…) that read only text.
type slackSink struct {
	name string
	post *poster
}

func (s *slackSink) Name() string { return s.name }

func (s *slackSink) Send(ctx context.Context, alerts []Alert) error {
	return sendEach(ctx, alerts, func(a *Alert) error {
		body, err := json.Marshal(SlackMessage(a))
		if err != nil {
			return permanentError{fmt.Errorf("encode: %w", err)}
		}
		return s.post.post(ctx, body, nil)
	})
}

var severityEmoji = map[Severity]string{
	Critical: ":red_circle:", High: ":large_orange_circle:", Medium: ":large_yellow_circle:",
	Low: ":large_blue_circle:", Info: ":white_circle:",
}

// slackEscape escapes the three characters Slack's mrkdwn treats as markup.
func slackEscape(s string) string {
	return slackEscaper.Replace(s)
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func truncateRunes(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// SlackMessage is the payload for one alert: {"text": …, "blocks": […]}.
func SlackMessage(a *Alert) map[string]any {
	sev := strings.ToUpper(a.Severity.String())
	text := fmt.Sprintf("%s [%s] %s: %s (%s, count %d)", severityEmoji[a.Severity], sev,
		slackEscape(a.Category), slackEscape(a.Title), slackEscape(a.Endpoints()), a.Count)
	if ev := a.EvidenceText(); ev != "" {
		text += " " + slackEscape(ev)
	}
	field := func(label, value string) map[string]any {
		return map[string]any{"type": "mrkdwn", "text": truncateRunes("*"+label+"*\n"+value, 2000)}
	}
	code := func(s string) string {
		if s == "" {
			return "-"
		}
		return "`" + slackEscape(s) + "`"
	}
	blocks := []any{
		map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "emoji": true,
			"text": truncateRunes(sev+": "+a.Title, 150)}},
		map[string]any{"type": "section", "fields": []any{
			field("Severity", severityEmoji[a.Severity]+" "+a.Severity.String()),
			field("Category", slackEscape(a.Category)),
			field("Source → Target", code(a.Src)+" → "+code(a.Dst)),
			field("Count", strconv.FormatInt(a.Count, 10)),
			field("First seen", rfc3339(a.FirstSeen)),
			field("Last seen", rfc3339(a.LastSeen)),
		}},
	}
	if ev := a.EvidenceText(); ev != "" {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn",
			"text": truncateRunes("*Evidence*\n```"+slackEscape(ev)+"```", 3000)}})
	}
	ctxText := "rule `" + slackEscape(a.Rule) + "` · alert `" + a.ID + "`"
	if len(a.MITRE) > 0 {
		ctxText += " · MITRE ATT&amp;CK " + slackEscape(strings.Join(a.MITRE, ", "))
	}
	blocks = append(blocks, map[string]any{"type": "context", "elements": []any{
		map[string]any{"type": "mrkdwn", "text": ctxText}}})
	return map[string]any{"text": text, "blocks": blocks}
}
