import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Socket } from "../src/index.js";
import { FakeTransport } from "./fake-transport.js";

/** A stand-in page: window events plus a document whose visibility the test controls. */
function stubPage() {
  const document = Object.assign(new EventTarget(), { visibilityState: "visible" });
  const window = Object.assign(new EventTarget(), { document });
  vi.stubGlobal("window", window);
  vi.stubGlobal("document", document);
  return {
    setVisibility(state: "visible" | "hidden") {
      document.visibilityState = state;
      window.dispatchEvent(new Event("visibilitychange"));
    },
    resume: () => document.dispatchEvent(new Event("resume")),
    fire: (type: string) => window.dispatchEvent(new Event(type)),
  };
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeTransport.instances = [];
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("page lifecycle", () => {
  it("does not reconnect while hidden, and reconnects at once when shown", () => {
    const page = stubPage();
    const socket = new Socket("ws://example.com/socket", { transport: FakeTransport });
    socket.connect();
    FakeTransport.last.open();
    page.setVisibility("hidden");
    FakeTransport.last.serverClose(1006);
    vi.advanceTimersByTime(10_000);
    expect(FakeTransport.instances).toHaveLength(1);
    page.setVisibility("visible");
    expect(FakeTransport.instances).toHaveLength(2);
    // A "resume" right after must not replace the connection being opened.
    page.resume();
    expect(FakeTransport.instances).toHaveLength(2);
  });

  it("does not connect on visibility when the socket was never connected", () => {
    const page = stubPage();
    new Socket("ws://example.com/socket", { transport: FakeTransport });
    page.setVisibility("visible");
    expect(FakeTransport.instances).toHaveLength(0);
  });

  it("disconnects on pagehide and connects again on pageshow", () => {
    const page = stubPage();
    const socket = new Socket("ws://example.com/socket", { transport: FakeTransport });
    socket.connect();
    FakeTransport.last.open();
    page.fire("pagehide");
    expect(FakeTransport.last.closeCalls).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    page.fire("pageshow");
    expect(FakeTransport.instances).toHaveLength(2);
  });

  it("does not reconnect on pageshow after an explicit disconnect", () => {
    const page = stubPage();
    const socket = new Socket("ws://example.com/socket", { transport: FakeTransport });
    socket.connect();
    FakeTransport.last.open();
    socket.disconnect();
    page.fire("pagehide");
    page.fire("pageshow");
    expect(FakeTransport.instances).toHaveLength(1);
  });

  it("stops following the page once disposed, and disposing again does nothing", () => {
    const page = stubPage();
    const socket = new Socket("ws://example.com/socket", { transport: FakeTransport });
    socket.connect();
    FakeTransport.last.open();
    socket.dispose();
    expect(FakeTransport.last.closeCalls).toHaveLength(1);
    socket.dispose();
    expect(FakeTransport.last.closeCalls).toHaveLength(1);

    // Connected again by hand: the page's events no longer reach the socket.
    socket.connect();
    FakeTransport.last.open();
    page.fire("pagehide");
    expect(FakeTransport.last.closeCalls).toHaveLength(0);
    FakeTransport.last.serverClose(1006);
    page.setVisibility("hidden");
    page.setVisibility("visible");
    page.resume();
    expect(FakeTransport.instances).toHaveLength(2);
  });
});
