import type { CallScript } from "./synthesize-dialogue.ts";

/** The demo's three calls (support, sales, support), in plain English for the offline en-us recognizer. */
export const sampleDialogues: readonly CallScript[] = [
  {
    turns: [
      {
        speaker: "operator",
        text: "Hello, thank you for calling Tyndau support, my name is Anna. How can I help you today?",
      },
      {
        speaker: "client",
        text: "Hi Anna. I need a copy of my invoice for last month, please. I can not find it in my account.",
      },
      {
        speaker: "operator",
        text: "No problem. Can you tell me your company name and your phone number, please?",
      },
      {
        speaker: "client",
        text: "The company is Green Garden, and the phone number is five five five, one two three.",
      },
      {
        speaker: "operator",
        text: "Thank you. I can see your account. I will send you the invoice today by email.",
      },
      { speaker: "client", text: "That is great. Thank you very much for your help." },
      { speaker: "operator", text: "You are welcome. Have a nice day, goodbye." },
    ],
  },
  {
    turns: [
      {
        speaker: "operator",
        text: "Good morning, this is Tyndau sales, my name is David. Thank you for your call.",
      },
      {
        speaker: "client",
        text: "Good morning. We have a small office and we want to record our phone calls.",
      },
      {
        speaker: "operator",
        text: "We have a business plan for small teams. The price is ten dollars per user every month.",
      },
      { speaker: "client", text: "That sounds good. Can we try it first before we pay?" },
      {
        speaker: "operator",
        text: "Yes, you can try it free for two weeks. I will send you a link and the contract today.",
      },
      { speaker: "client", text: "Perfect. Please send it to my email. Thank you." },
      { speaker: "operator", text: "Thank you for choosing us. Goodbye." },
    ],
  },
  {
    turns: [
      {
        speaker: "operator",
        text: "Hello, thank you for calling Tyndau support, my name is Maria. How can I help you?",
      },
      {
        speaker: "client",
        text: "Hello. I can not log in to my account. The system says my password is wrong.",
      },
      {
        speaker: "operator",
        text: "I am sorry to hear that. I can reset your password for you right now.",
      },
      { speaker: "client", text: "Yes please, that would be very helpful." },
      {
        speaker: "operator",
        text: "Done. I will send you a new password by email in five minutes. Please check your mail.",
      },
      { speaker: "client", text: "Thank you so much. Have a good day." },
      { speaker: "operator", text: "You too. Goodbye." },
    ],
  },
];
