/**
 * Password rules (docs/SECURITY.md): at least 10 characters (API.md), at most 200, not one of the
 * commonly used passwords below, and not the e-mail address (or its local part). Returns the reason a
 * password is refused, or undefined when it is acceptable.
 */
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 200;

/** Passwords of ten or more characters that lead every leaked-password list; compared lower-cased. */
const COMMON_PASSWORDS = new Set([
  "1234567890",
  "0123456789",
  "12345678910",
  "123456789a",
  "1234567890a",
  "1111111111",
  "0000000000",
  "1234512345",
  "1q2w3e4r5t",
  "1q2w3e4r5t6y",
  "qwertyuiop",
  "qwerty12345",
  "qwerty123456",
  "qwertyuiop123",
  "asdfghjkl1",
  "password12",
  "password123",
  "password1234",
  "password!1",
  "passw0rd123",
  "iloveyou12",
  "abcdefghij",
  "abc1234567",
  "1234qwerasdf",
  "qazwsxedcrfv",
  "zaq12wsxcde3",
  "letmein1234",
  "welcome123",
  "administrator",
  "admin12345",
  "admin123456",
  "changeme123",
  "parol12345",
  "йцукенгшщз",
  "пароль1234",
  "1qaz2wsx3edc",
  "football123",
  "baseball123",
  "princess123",
  "sunshine123",
  "monkey12345",
  "superman123",
  "trustno1234",
  "dragon12345",
  "master12345",
  "tyndau12345",
  "tyndau2024!",
]);

export function passwordProblem(password: string, email?: string): string | undefined {
  if ([...password].length < PASSWORD_MIN_LENGTH)
    return `The password needs at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (password.length > PASSWORD_MAX_LENGTH) return "The password is too long.";
  const lower = password.normalize("NFKC").toLowerCase();
  if (COMMON_PASSWORDS.has(lower) || /^(.)\1+$/u.test(lower))
    return "This password is too common; choose another.";
  if (email) {
    const e = email.toLowerCase();
    const local = e.split("@")[0] ?? "";
    if (lower === e || (local.length >= 3 && lower === local))
      return "The password must not be your e-mail address.";
  }
  return undefined;
}
