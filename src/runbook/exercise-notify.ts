// What `exercise plan --notify` posts: a generic webhook gets the plan as
// JSON, Slack a short message with its title and summary. The CLI delivers
// them with notify/send.ts (a peer of this tier), which redacts the bodies and
// keeps Slack URLs secret.

import { planSummary, planTitle, type ExercisePlan } from "./exercise-plan.ts";

/** What a webhook receives: the plan, with the one-line title and summary a chat message shows. */
export function briefingWebhookBody(plan: ExercisePlan, output: string | null) {
  return { event: "exercise-plan", title: planTitle(plan), summary: planSummary(plan), output, plan };
}

export function briefingSlackMessage(plan: ExercisePlan, output: string | null) {
  const text = `:clipboard: ${planTitle(plan)}`;
  const services = plan.services.map(
    (service) =>
      `• ${service.source}: ${service.variant} (RTO ${service.objectives.rto ?? "none"}, RPO ${service.objectives.rpo ?? "none"})`,
  );
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*${text}*` } },
      {
        type: "section",
        text: {
          type: "mrkdwn",
          text: [planSummary(plan), ...services, ...(output ? [`Briefing: ${output}`] : [])]
            .join("\n")
            .slice(0, 2900),
        },
      },
    ],
  };
}
