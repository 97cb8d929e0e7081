// Minimal types for @binance/connector (the package ships none): the calls the client tests make.
declare module '@binance/connector' {
  type Json = unknown
  type Answer = Promise<{ data: Json }>
  type Opts = Record<string, string | number>
  interface Options {
    baseURL?: string
    wsURL?: string
    logger?: Console
    combinedStreams?: boolean
    callbacks?: { open?: () => void; close?: () => void; message?: (data: string) => void }
  }
  export class Spot {
    constructor(apiKey?: string, apiSecret?: string, options?: Options)
    time(): Answer
    exchangeInfo(o?: Opts): Answer
    klines(symbol: string, interval: string, o?: Opts): Answer
    uiklines(symbol: string, interval: string, o?: Opts): Answer
    depth(symbol: string, o?: Opts): Answer
    trades(symbol: string, o?: Opts): Answer
    historicalTrades(symbol: string, o?: Opts): Answer
    aggTrades(symbol: string, o?: Opts): Answer
    avgPrice(symbol: string): Answer
    ticker24hr(symbol?: string, symbols?: string[], type?: string): Answer
    tickerPrice(symbol?: string, symbols?: string[]): Answer
    bookTicker(symbol?: string, symbols?: string[]): Answer
    rollingWindowTicker(symbol?: string, symbols?: string[], o?: Opts): Answer
  }
  export class WebsocketStream {
    constructor(options?: Options)
    kline(symbol: string, interval: string): void
    aggTrade(symbol: string): void
    trade(symbol: string): void
    ticker(symbol?: string | null): void
    miniTicker(symbol?: string | null): void
    rollingWindowTicker(windowSize: string, symbol?: string | null): void
    bookTicker(symbol: string): void
    diffBookDepth(symbol: string, speed: string): void
    disconnect(): void
  }
}
