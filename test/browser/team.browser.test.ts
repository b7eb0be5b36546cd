/**
 * Team management in a real browser: an owner invites a manager from the team page, the invitation
 * arrives by e-mail and is accepted on its page (the new user is signed in), the owner promotes and then
 * removes them, reads the audit log, and changes their own password on the account page.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClient, registerOwner } from "../harness/api-client.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

declare const document: {
  getElementById(
    id: string,
  ): { dataset: Record<string, string | undefined>; hasAttribute(n: string): boolean } | null;
};
declare const location: { hash: string };
declare const localStorage: { setItem(k: string, v: string): void };

let app: TestApp;
let browser: Browser;

beforeAll(async () => {
  [app, browser] = await Promise.all([
    startTestApp("postgres"),
    chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] }),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const main = document.getElementById("main");
    return !!main && main.dataset.rendered === location.hash && !main.hasAttribute("aria-busy");
  });
}

async function signedInPage(token: string | null): Promise<Page> {
  const context = await browser.newContext({ locale: "en-GB" });
  await context.addInitScript((t) => {
    localStorage.setItem("tyndau.lang", "en");
    if (t) localStorage.setItem("tyndau.token", t);
  }, token);
  const page = await context.newPage();
  page.on("dialog", (d) => d.accept());
  return page;
}

describe("team pages", () => {
  it("invite, accept, promote, remove, audit, change password", async () => {
    const owner = await registerOwner(app.baseUrl, "Team LLP");
    const page = await signedInPage(owner.token);
    await page.goto(`${app.baseUrl}/#/team`);
    await settled(page);
    expect(await page.textContent("h1")).toBe("Team");
    expect(await page.textContent("table.users")).toContain(owner.email);

    // Invite: the invitation is listed and e-mailed.
    const invitee = `invitee-${Date.now()}@example.com`;
    await page.fill("input[name=inviteEmail]", invitee);
    await page.click("button:text-is('Send invitation')");
    await page.waitForFunction(() =>
      (document.getElementById("team-status") as unknown as { textContent: string })?.textContent.includes(
        "sent",
      ),
    );
    await settled(page);
    expect(await page.textContent("table.invitations")).toContain(invitee);
    const mail = app.mail!.messagesTo(invitee);
    expect(mail).toHaveLength(1);
    const url = /https?:\/\/\S+#\/invite\?token=\S+/.exec(mail[0]!.text)![0];

    // Accept in another browser: set a password, land signed in as a manager.
    const guest = await signedInPage(null);
    await guest.goto(url);
    await settled(guest);
    await guest.fill("input[name=password]", "password123");
    await guest.click("button[type=submit]");
    await guest.waitForSelector("[role=alert]:has-text('Choose another password')");
    await guest.fill("input[name=password]", "invited member passphrase");
    await guest.click("button[type=submit]");
    await guest.waitForFunction(() => location.hash === "#/calls");
    await settled(guest);

    // The owner promotes, then removes the new user (reloaded: the list shows them now).
    await page.reload();
    await settled(page);
    const users = await apiClient(app.baseUrl, owner.token).get<{ items: { id: string; email: string }[] }>(
      "/api/v1/users",
    );
    const member = users.body.items.find((u) => u.email === invitee)!;
    await page.selectOption(`select[name=role-${member.id}]`, "owner");
    await page.waitForFunction(() =>
      (document.getElementById("team-status") as unknown as { textContent: string })?.textContent.includes(
        "role changed",
      ),
    );
    expect(
      (
        await apiClient(app.baseUrl, owner.token).get<{ items: { email: string; role: string }[] }>(
          "/api/v1/users",
        )
      ).body.items.find((u) => u.email === invitee)?.role,
    ).toBe("owner");
    await settled(page);
    await page.click(`button[data-remove="${invitee}"]`);
    await page.waitForFunction(() =>
      (document.getElementById("team-status") as unknown as { textContent: string })?.textContent.includes(
        "removed",
      ),
    );
    await settled(page);
    expect(await page.textContent("table.users")).not.toContain(invitee);

    // The audit log shows what happened.
    await page.goto(`${app.baseUrl}/#/audit`);
    await settled(page);
    const log = await page.textContent("table.audit");
    for (const action of ["user.invite", "user.invitation_accept", "user.update", "user.delete"])
      expect(log).toContain(action);

    // Password change on the account page.
    await page.goto(`${app.baseUrl}/#/account`);
    await settled(page);
    await page.fill("input[name=currentPassword]", "correct horse battery");
    await page.fill("input[name=newPassword]", "a new owner passphrase");
    await page.click("button:text-is('Change password')");
    await page.waitForSelector("#password-status:has-text('Password changed')");
    const relogin = await apiClient(app.baseUrl).post("/api/v1/auth/login", {
      email: owner.email,
      password: "a new owner passphrase",
    });
    expect(relogin.status).toBe(200);
  });
});
