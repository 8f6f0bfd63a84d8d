/** The few parts of @echogarden/espeak-ng-emscripten (eSpeak NG compiled to WASM, no types shipped) the local provider uses. */
declare module '@echogarden/espeak-ng-emscripten' {
  export interface ESpeakNGWorker {
    /** 0 on success, 2 when no voice has that name. */
    set_voice(name: string): number;
    /** Words per minute, 80..450 (default 175). */
    set_rate(wpm: number): number;
    get_samplerate(): number;
    /** `callback(samplesPtr, sampleCount, eventsPtr)` is a function-table index from addFunction; it returns 0 to go on. */
    synth_(text: string, callback: number): void;
  }
  export interface ESpeakNGModule {
    eSpeakNGWorker: new () => ESpeakNGWorker;
    HEAP16: Int16Array;
    addFunction(fn: (samplesPtr: number, sampleCount: number, eventsPtr: number) => number, signature: string): number;
    removeFunction(index: number): void;
  }
  export default function createModule(options?: { print?: (s: string) => void; printErr?: (s: string) => void }): Promise<ESpeakNGModule>;
}
