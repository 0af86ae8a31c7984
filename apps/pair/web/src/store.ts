import {
  configureStore,
  createAsyncThunk,
  createSlice,
  type SerializedError,
} from "@reduxjs/toolkit";
import { useDispatch, useSelector } from "react-redux";
import {
  ApiError,
  api,
  type ChallengePage,
  type ChallengeSummary,
  type FieldError,
  type NewChallenge,
  type Session,
  type User,
} from "./api";

const TOKEN_KEY = "pair.token";

/** A failed request, as the UI shows it: a sentence and maybe the field at fault. */
export interface Failure {
  message: string;
  field?: string;
  /** Every invalid field, when the server named several. */
  errors?: FieldError[];
}

function toFailure(error: unknown): Failure {
  if (error instanceof ApiError) {
    return {
      message: error.message,
      ...(error.field ? { field: error.field } : {}),
      ...(error.errors.length > 0 ? { errors: [...error.errors] } : {}),
    };
  }
  return { message: "Something went wrong. Please try again." };
}

function readStoredToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Private modes may refuse storage: the session then lasts as long as the page.
  }
}

/** Thunks that fail with a {@link Failure}. */
type Rejects = { rejectValue: Failure };

/** Creates an account; the session starts at once. */
export const signUp = createAsyncThunk<
  Session,
  { first_name: string; email: string; password: string },
  Rejects
>("auth/signUp", async (fields, { rejectWithValue }) => {
  try {
    return await api.signUp(fields);
  } catch (error) {
    return rejectWithValue(toFailure(error));
  }
});

/** Signs in with email and password. */
export const signIn = createAsyncThunk<Session, { email: string; password: string }, Rejects>(
  "auth/signIn",
  async (fields, { rejectWithValue }) => {
    try {
      return await api.signIn(fields);
    } catch (error) {
      return rejectWithValue(toFailure(error));
    }
  },
);

/** Checks the stored token and loads its user; a refused token signs the user out. */
export const restoreSession = createAsyncThunk<
  User,
  string,
  { rejectValue: { unauthorized: boolean } }
>("auth/restore", async (token, { rejectWithValue }) => {
  try {
    return (await api.me(token)).user;
  } catch (error) {
    return rejectWithValue({ unauthorized: error instanceof ApiError && error.status === 401 });
  }
});

interface AuthState {
  token: string | null;
  user: User | null;
  /** Whether a sign in or sign up is in flight. */
  pending: boolean;
  failure: Failure | null;
}

const authSlice = createSlice({
  name: "auth",
  initialState: (): AuthState => ({
    token: readStoredToken(),
    user: null,
    pending: false,
    failure: null,
  }),
  reducers: {
    signedOut(draft) {
      draft.token = null;
      draft.user = null;
      draft.failure = null;
    },
    failureDismissed(draft) {
      draft.failure = null;
    },
  },
  extraReducers: (builder) => {
    for (const thunk of [signUp, signIn]) {
      builder
        .addCase(thunk.pending, (draft) => {
          draft.pending = true;
          draft.failure = null;
        })
        .addCase(thunk.fulfilled, (draft, action) => {
          draft.pending = false;
          draft.token = action.payload.token;
          draft.user = action.payload.user;
        })
        .addCase(thunk.rejected, (draft, action) => {
          draft.pending = false;
          draft.failure = action.payload ?? failureOf(action.error);
        });
    }
    builder
      .addCase(restoreSession.fulfilled, (draft, action) => {
        draft.user = action.payload;
      })
      .addCase(restoreSession.rejected, (draft, action) => {
        // Only a refused token ends the session; a server that is down may come back.
        if (action.payload?.unauthorized) {
          draft.token = null;
          draft.user = null;
        }
      });
  },
});

function failureOf(error: SerializedError): Failure {
  return { message: error.message ?? "Something went wrong. Please try again." };
}

export const { signedOut, failureDismissed } = authSlice.actions;

/** Loads the first page of the challenge list, or with a cursor the page after it. */
export const loadChallenges = createAsyncThunk<
  ChallengePage & { more: boolean },
  { cursor: string } | undefined,
  Rejects
>("challenges/load", async (arg, { rejectWithValue }) => {
  try {
    return { ...(await api.challenges(arg?.cursor ?? null)), more: arg !== undefined };
  } catch (error) {
    return rejectWithValue(toFailure(error));
  }
});

/** Creates a challenge and adds it to the list. */
export const createChallenge = createAsyncThunk<
  ChallengeSummary,
  NewChallenge,
  { rejectValue: Failure; state: { auth: AuthState } }
>("challenges/create", async (fields, { getState, rejectWithValue }) => {
  try {
    const { challenge } = await api.createChallenge(getState().auth.token ?? "", fields);
    return { id: challenge.id, title: challenge.title, description: challenge.description };
  } catch (error) {
    return rejectWithValue(toFailure(error));
  }
});

interface ChallengesState {
  list: ChallengeSummary[];
  /** Where the next page starts; null once the whole list is loaded. */
  nextCursor: string | null;
  loading: boolean;
  loadFailure: Failure | null;
  creating: boolean;
  createFailure: Failure | null;
}

const challengesSlice = createSlice({
  name: "challenges",
  initialState: {
    list: [],
    nextCursor: null,
    loading: false,
    loadFailure: null,
    creating: false,
    createFailure: null,
  } as ChallengesState,
  reducers: {},
  extraReducers: (builder) => {
    builder
      .addCase(loadChallenges.pending, (draft) => {
        draft.loading = true;
        draft.loadFailure = null;
      })
      .addCase(loadChallenges.fulfilled, (draft, action) => {
        const { challenges, next_cursor, more } = action.payload;
        draft.loading = false;
        draft.list = more ? mergeById(draft.list, challenges) : challenges;
        draft.nextCursor = next_cursor;
      })
      .addCase(loadChallenges.rejected, (draft, action) => {
        draft.loading = false;
        draft.loadFailure = action.payload ?? failureOf(action.error);
      })
      .addCase(createChallenge.pending, (draft) => {
        draft.creating = true;
        draft.createFailure = null;
      })
      .addCase(createChallenge.fulfilled, (draft, action) => {
        draft.creating = false;
        draft.list = mergeById(draft.list, [action.payload]);
      })
      .addCase(createChallenge.rejected, (draft, action) => {
        draft.creating = false;
        draft.createFailure = action.payload ?? failureOf(action.error);
      });
  },
});

/**
 * The list with `added` in it, in id order and each challenge once: a challenge created
 * here shows at once and is not repeated when a later page brings it again.
 */
function mergeById(list: ChallengeSummary[], added: ChallengeSummary[]): ChallengeSummary[] {
  const byId = new Map(list.map((challenge) => [challenge.id, challenge]));
  for (const challenge of added) byId.set(challenge.id, challenge);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/**
 * The app's store: session and challenge list. A room's presence is not here: it lives
 * with the room page (RoomProvider), the only part of the app that shows it.
 */
export const store = configureStore({
  reducer: {
    auth: authSlice.reducer,
    challenges: challengesSlice.reducer,
  },
});

// The token outlives the page: keep localStorage in step with the store.
let storedToken = store.getState().auth.token;
store.subscribe(() => {
  const token = store.getState().auth.token;
  if (token === storedToken) return;
  storedToken = token;
  storeToken(token);
});

export type RootState = ReturnType<typeof store.getState>;
export type AppDispatch = typeof store.dispatch;
export const useAppDispatch = useDispatch.withTypes<AppDispatch>();
export const useAppSelector = useSelector.withTypes<RootState>();
