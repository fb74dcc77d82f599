//! The first stage: tokens to a generic, spanned syntax tree. Nothing here knows which
//! layers or arguments exist; `check` gives the tree its meaning and reports what is wrong.
//!
//! ```text
//! network    := attrs vis `struct` Ident `{` item,* `}`
//! item       := attrs [Ident `:`] value
//! value      := `[` LitInt,* `]` | `true` | `false` | call [`{` item,* `}`]
//! call       := Ident [`(` arg,* `)`]
//! arg        := [Ident `=`] (number | `true` | `false` | call | `(` value,* `)`)
//! number     := [`-`] (LitInt | LitFloat)
//! ```

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitBool, LitFloat, LitInt, Token, Visibility, braced, bracketed, parenthesized};

/// The whole macro input.
pub struct RawNetwork {
    /// Attributes on the struct (doc comments).
    pub attrs: Vec<Attribute>,
    /// Visibility.
    pub vis: Visibility,
    /// The struct name.
    pub name: Ident,
    /// The items between the braces.
    pub items: Vec<RawItem>,
}

/// One comma-separated item.
pub struct RawItem {
    /// Attributes (`#[frozen]`, doc comments).
    pub attrs: Vec<Attribute>,
    /// `key:` if present.
    pub key: Option<Ident>,
    /// The value.
    pub value: RawValue,
}

/// The value of an item.
pub enum RawValue {
    /// `[64]`
    Dims(Vec<LitInt>, Span),
    /// `true` / `false`
    Bool(LitBool),
    /// `dense(128)`, `relu`, `f32`
    Call(RawCall),
    /// `residual { .. }`, `repeat(3) { .. }`: a block of items.
    Block(RawCall, Vec<RawItem>),
}

/// `name` or `name(args)`.
#[derive(Clone)]
pub struct RawCall {
    /// The callee.
    pub name: Ident,
    /// The arguments, if there were parentheses.
    pub args: Vec<RawArg>,
    /// The span of the whole call.
    pub span: Span,
}

/// One argument of a call.
#[derive(Clone)]
pub struct RawArg {
    /// `key =` if present.
    pub key: Option<Ident>,
    /// The value.
    pub value: RawArgValue,
}

/// The value of an argument.
#[derive(Clone)]
pub enum RawArgValue {
    /// A number literal, possibly negated.
    Number {
        /// Its value.
        value: f64,
        /// Written without a decimal point or exponent.
        integer: bool,
        /// As written.
        text: String,
        /// Where.
        span: Span,
    },
    /// `true` / `false`.
    Bool(LitBool),
    /// An identifier, or a nested call (`normal(0.02)`).
    Call(RawCall),
    /// A tuple of values (`(3, 5)`).
    Tuple(Vec<RawArgValue>, Span),
}

impl RawArgValue {
    /// Where the value was written.
    pub fn span(&self) -> Span {
        match self {
            RawArgValue::Number { span, .. } => *span,
            RawArgValue::Bool(b) => b.span,
            RawArgValue::Call(c) => c.span,
            RawArgValue::Tuple(_, span) => *span,
        }
    }

    /// The value as written, for messages.
    pub fn describe(&self) -> String {
        match self {
            RawArgValue::Number { text, .. } => format!("`{text}`"),
            RawArgValue::Bool(b) => format!("`{}`", b.value),
            RawArgValue::Call(c) if c.args.is_empty() => format!("`{}`", c.name),
            RawArgValue::Call(c) => format!("`{}(..)`", c.name),
            RawArgValue::Tuple(items, _) => format!("a tuple of {}", items.len()),
        }
    }
}

impl Parse for RawNetwork {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        let content;
        braced!(content in input);
        let items = Punctuated::<RawItem, Token![,]>::parse_terminated(&content)?.into_iter().collect();
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the network's `{ .. }`"));
        }
        Ok(RawNetwork { attrs, vis, name, items })
    }
}

impl Parse for RawItem {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let key = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![:]>()?;
            Some(key)
        } else {
            None
        };
        let lookahead = input.lookahead1();
        let value = if lookahead.peek(syn::token::Bracket) {
            let content;
            let bracket = bracketed!(content in input);
            let dims = Punctuated::<LitInt, Token![,]>::parse_terminated(&content)?.into_iter().collect();
            RawValue::Dims(dims, bracket.span.join())
        } else if lookahead.peek(LitBool) {
            RawValue::Bool(input.parse()?)
        } else if lookahead.peek(Ident) {
            let call: RawCall = input.parse()?;
            if input.peek(syn::token::Brace) {
                let _nested = Nested::enter(call.span)?;
                let content;
                braced!(content in input);
                let items = Punctuated::<RawItem, Token![,]>::parse_terminated(&content)?.into_iter().collect();
                RawValue::Block(call, items)
            } else {
                RawValue::Call(call)
            }
        } else if let (Some(key), Ok(width)) = (&key, input.fork().parse::<LitInt>()) {
            // `input: 4`: a shape is always a list, even of one dimension.
            return Err(syn::Error::new(
                width.span(),
                format!("`{key}` takes a shape in square brackets: write `{key}: [{}]`", width.base10_digits()),
            ));
        } else {
            return Err(lookahead.error());
        };
        Ok(RawItem { attrs, key, value })
    }
}

/// How deep calls, tuples and blocks may nest: far beyond any real network, far below what
/// would exhaust the compiler's stack.
const MAX_NESTING: usize = 64;

thread_local! {
    static NESTING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One level deeper while alive; an error at `span` past [`MAX_NESTING`].
struct Nested;

impl Nested {
    fn enter(span: Span) -> syn::Result<Nested> {
        let depth = NESTING.with(|d| {
            d.set(d.get() + 1);
            d.get()
        });
        let guard = Nested;
        if depth > MAX_NESTING {
            return Err(syn::Error::new(span, format!("nested more than {MAX_NESTING} levels deep")));
        }
        Ok(guard)
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        NESTING.with(|d| d.set(d.get() - 1));
    }
}

impl Parse for RawCall {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let _nested = Nested::enter(input.span())?;
        let name: Ident = input.parse()?;
        let mut span = name.span();
        let args = if input.peek(syn::token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            span = name.span().join(paren.span.close()).unwrap_or(span);
            Punctuated::<RawArg, Token![,]>::parse_terminated(&content)?.into_iter().collect()
        } else {
            Vec::new()
        };
        Ok(RawCall { name, args, span })
    }
}

impl Parse for RawArg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            Some(key)
        } else {
            None
        };
        Ok(RawArg { key, value: input.parse()? })
    }
}

impl Parse for RawArgValue {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let minus: Option<Token![-]> = input.parse()?;
        let lookahead = input.lookahead1();
        if lookahead.peek(LitInt) || lookahead.peek(LitFloat) {
            let (digits, integer, lit_span) = if input.peek(LitInt) {
                let lit: LitInt = input.parse()?;
                (lit.base10_digits().to_string(), true, lit.span())
            } else {
                let lit: LitFloat = input.parse()?;
                (lit.base10_digits().to_string(), false, lit.span())
            };
            let magnitude: f64 =
                digits.parse().map_err(|_| syn::Error::new(lit_span, format!("`{digits}` is not a number")))?;
            let span = minus.map_or(lit_span, |m| m.span().join(lit_span).unwrap_or(lit_span));
            let sign = if minus.is_some() { "-" } else { "" };
            Ok(RawArgValue::Number {
                value: if minus.is_some() { -magnitude } else { magnitude },
                integer,
                text: format!("{sign}{digits}"),
                span,
            })
        } else if minus.is_some() {
            Err(lookahead.error())
        } else if lookahead.peek(syn::token::Paren) {
            let _nested = Nested::enter(input.span())?;
            let content;
            let paren = parenthesized!(content in input);
            let items = Punctuated::<RawArgValue, Token![,]>::parse_terminated(&content)?.into_iter().collect();
            Ok(RawArgValue::Tuple(items, paren.span.join()))
        } else if lookahead.peek(LitBool) {
            Ok(RawArgValue::Bool(input.parse()?))
        } else if lookahead.peek(Ident) {
            Ok(RawArgValue::Call(input.parse()?))
        } else if let Ok(text) = input.fork().parse::<syn::LitStr>() {
            // `lr = "1e-3"`: numbers are written bare.
            Err(syn::Error::new(
                text.span(),
                format!("arguments are not strings: write the value without quotes, e.g. `{}`", text.value()),
            ))
        } else {
            Err(lookahead.error())
        }
    }
}

/// Parses the macro input into the generic tree.
pub fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<RawNetwork> {
    syn::parse2(tokens)
}

/// The span of an item (its key, or its value when unnamed).
pub fn item_span(item: &RawItem) -> Span {
    match (&item.key, &item.value) {
        (Some(k), _) => k.span(),
        (None, RawValue::Dims(_, s)) => *s,
        (None, RawValue::Bool(b)) => b.span(),
        (None, RawValue::Call(c) | RawValue::Block(c, _)) => c.span,
    }
}
