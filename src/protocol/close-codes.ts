/** 1001 Going Away: the server is stopping. 1012 Service Restart: come back in a moment (RFC 6455 registry). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_SERVICE_RESTART = 1012;
/** 1009 Message Too Big (RFC 6455 7.4.1). */
export const CLOSE_MESSAGE_TOO_BIG = 1009;
